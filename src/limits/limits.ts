// The limits a team and each of its keys may carry (budget, allowed models, request and token
// rates, a ceiling per request), their input schemas, and how a change is merged: a PATCH
// changes only the fields it names, `null` removes a limit.
import { z } from 'zod';

export interface RateLimit {
  requests_per_minute?: number;
  tokens_per_minute?: number;
}

/** Limits beside the team's budget; every field is optional so records stored before them still read. */
export interface Limits {
  allowed_models?: string[] | null;
  rate_limit?: RateLimit | null;
  max_tokens_per_request?: number | null;
}

const period = z.enum(['day', 'week', 'month', 'total']);
const MODEL_PATTERN = 'a slug, a * glob, or category:<text|image|video|audio|other>';
/** A model pattern: a slug, a slug with `*` globs, or `category:<text|image|video|audio|other>`. */
const modelPattern = z
  .string()
  .min(1)
  .max(200)
  .regex(/^(category:(text|image|video|audio|other)|[^\s:]+)$/, MODEL_PATTERN)
  .describe(MODEL_PATTERN);
const positive = z.number().int().positive();

export const budgetInput = z.object({ tokens: z.number().int().nonnegative(), period: period.default('month') }).strict();
/** A budget change: without `period` the period stays as it was. */
export const budgetPatch = z.object({ tokens: z.number().int().nonnegative().optional(), period: period.optional() }).strict();
export const rateLimitInput = z
  .object({ requests_per_minute: positive.nullable().optional(), tokens_per_minute: positive.nullable().optional() })
  .strict()
  .nullable();

export const limitsInput = {
  allowed_models: z.array(modelPattern).max(200).nullable().optional(),
  rate_limit: rateLimitInput.optional(),
  max_tokens_per_request: positive.nullable().optional(),
};

type RateInput = z.infer<typeof rateLimitInput>;
export type LimitsChange = { [K in keyof typeof limitsInput]?: z.infer<(typeof limitsInput)[K]> };

/** Merges a rate-limit change into the current one: given fields replace, `null` removes; none left = no limit. */
export function mergeRateLimit(current: RateLimit | null | undefined, change: RateInput | undefined): RateLimit | null {
  if (change === undefined) return current ?? null;
  if (change === null) return null;
  const merged: Record<string, number | null | undefined> = { ...current, ...change };
  const out: RateLimit = {};
  if (typeof merged.requests_per_minute === 'number') out.requests_per_minute = merged.requests_per_minute;
  if (typeof merged.tokens_per_minute === 'number') out.tokens_per_minute = merged.tokens_per_minute;
  return Object.keys(out).length > 0 ? out : null;
}

/** Applies a change of the optional limits; fields absent from `change` keep their value. */
export function mergeLimits(current: Limits, change: LimitsChange): { [K in keyof Limits]-?: NonNullable<Limits[K]> | null } {
  return {
    allowed_models: change.allowed_models === undefined ? (current.allowed_models ?? null) : change.allowed_models,
    rate_limit: mergeRateLimit(current.rate_limit, change.rate_limit),
    max_tokens_per_request:
      change.max_tokens_per_request === undefined ? (current.max_tokens_per_request ?? null) : change.max_tokens_per_request,
  };
}
