// The limit flags shared by `teams create|update` and `keys issue|update`: --models, --rpm,
// --tpm and --max-tokens, turned into the admin API's fields. On an update, `none` (or 0 for
// the numbers) removes a limit; a flag left out leaves it as it is.
import { Command, Option } from 'commander';
import { CliError } from './admin-client.js';

export interface LimitFlags {
  models?: string;
  rpm?: number;
  tpm?: number;
  maxTokens?: number;
}

const whole = (value: string) => {
  if (!/^\d+$/.test(value)) throw new CliError(`not a whole number: ${value}`);
  return Number(value);
};

export function addLimitOptions(command: Command): Command {
  return command
    .addOption(new Option('--models <list>', 'allowed models: slugs, * globs, category:<cat>, comma-separated ("none": all)'))
    .addOption(new Option('--rpm <n>', 'requests per minute (0 removes the limit)').argParser(whole))
    .addOption(new Option('--tpm <n>', 'tokens per minute (0 removes the limit)').argParser(whole))
    .addOption(new Option('--max-tokens <n>', 'most tokens one request may be estimated at (0 removes the limit)').argParser(whole));
}

/** The admin API fields for the flags given; numbers of 0 and `--models none` become null (no limit). */
export function limitFields(o: LimitFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (o.models !== undefined) {
    out.allowed_models = o.models === 'none' ? null : o.models.split(',').map((m) => m.trim()).filter(Boolean);
  }
  const rate: Record<string, number | null> = {};
  if (o.rpm !== undefined) rate.requests_per_minute = o.rpm || null;
  if (o.tpm !== undefined) rate.tokens_per_minute = o.tpm || null;
  if (Object.keys(rate).length > 0) out.rate_limit = rate;
  if (o.maxTokens !== undefined) out.max_tokens_per_request = o.maxTokens || null;
  return out;
}
