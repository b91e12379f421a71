#!/usr/bin/env node
// The `elumenta-gateway` command: serve, simulate, demo, and the admin operations (teams,
// keys, admin tokens, usage, audit, status) against a running gateway (--url) or the store directly.
import { Command, Option } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import { StoreUrlError } from '../store/connection.js';
import { version } from '../version.js';
import { CliError, directAdminClient, httpAdminClient, type AdminClient } from './admin-client.js';
import { addLimitOptions, limitFields, type LimitFlags } from './limit-options.js';
// The server, the simulator and the demo are imported by the command that runs them: an admin
// command over HTTP (or --version) then starts in a fraction of the time.

const program = new Command('elumenta-gateway')
  .version(version)
  .description('A drop-in gateway for the Elumenta API: one nb_ key, a key per team.')
  .addOption(new Option('--url <url>', 'admin commands: a running gateway (else the store, STORE_URL, directly)').env('GATEWAY_URL'));

async function admin(needsGateway = false): Promise<AdminClient> {
  const url = program.opts<{ url?: string }>().url;
  if (!url && needsGateway) {
    throw new CliError('this command needs a running gateway: pass --url http://host:port or set GATEWAY_URL');
  }
  if (url) {
    const token = process.env.GATEWAY_ADMIN_TOKEN;
    if (!token) throw new CliError('GATEWAY_ADMIN_TOKEN is required to talk to a running gateway');
    return httpAdminClient(url, token);
  }
  return directAdminClient(loadConfig());
}

function print(value: unknown): void {
  process.stdout.write(typeof value === 'string' ? value : JSON.stringify(value, null, 2) + '\n');
}

type AdminRequest = [method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown];

/**
 * Runs one admin call and prints its answer; `done` says what happened when the answer has no
 * body (a delete). `needsGateway`: only a running gateway knows the answer (the upstream balance).
 */
function adminAction<A extends unknown[]>(
  request: (...args: A) => AdminRequest,
  options: { done?: (...args: A) => string; needsGateway?: boolean } = {},
) {
  return async (...args: A) => {
    const client = await admin(options.needsGateway);
    try {
      const answer = await client.call(...request(...args));
      print(answer === null && options.done ? `${options.done(...args)}\n` : answer);
    } finally {
      await client.close();
    }
  };
}

const int = (value: string) => {
  if (!/^\d+$/.test(value)) throw new CliError(`not a whole number: ${value}`);
  return Number(value);
};
const enc = encodeURIComponent;

program
  .command('serve')
  .description('run the gateway (needs ELUMENTA_API_KEY and GATEWAY_ADMIN_TOKEN)')
  .action(async () => {
    const { startServer } = await import('../server.js');
    await startServer(loadConfig({ requireSecrets: true }));
  });

program
  .command('simulate')
  .description('run the bundled upstream simulator')
  .option('--port <port>', 'listen port', int, 9090)
  .option('--host <host>', 'listen address', '127.0.0.1')
  .option('--key <key>', 'the nb_ key it accepts', 'nb_sim_demo_key')
  .option('--balance <tokens>', 'starting token balance', int, 1_000_000)
  .option('--latency-ms <ms>', 'delay before each generate answer', int, 0)
  .option('--video-delay-ms <ms>', 'how long a video job stays pending', int, 30_000)
  .option('--chunk-delay-ms <ms>', 'pause between streamed chunks, to watch a stream arrive', int, 0)
  .action(async (options) => (await import('./simulate.js')).runSimulator(options));

program
  .command('demo')
  .description('simulator + gateway + a demo team and key, no real key needed')
  .action(async () => (await import('./demo.js')).runDemo());

const periods = ['day', 'week', 'month', 'total'];
/** --budget and --period as the API's budget field (a period alone keeps the tokens; `--budget none` on a key removes it). */
const budgetField = (o: { budget?: number | 'none'; period?: string }) => {
  if (o.budget === 'none') return { budget: null };
  return o.budget !== undefined || o.period ? { budget: { tokens: o.budget, period: o.period } } : {};
};
const budgetOrNone = (value: string) => (value === 'none' ? 'none' : int(value));

const teams = program.command('teams').description('create, list, read, change and delete teams');
addLimitOptions(
  teams
    .command('create <name>')
    .requiredOption('--budget <tokens>', 'token budget per period', int)
    .addOption(new Option('--period <period>', 'budget period').choices(periods).default('month'))
    .option('--no-share-cache', 'keep this team out of the shared cache pool'),
).action(
  adminAction((name: string, o: LimitFlags & { budget: number; period: string; shareCache: boolean }) => [
    'POST',
    '/admin/teams',
    {
      name,
      budget: { tokens: o.budget, period: o.period },
      ...limitFields(o),
      ...(o.shareCache ? {} : { cache: { share: false } }),
    },
  ]),
);
teams.command('list').action(adminAction(() => ['GET', '/admin/teams']));
teams.command('get <name>').action(adminAction((name: string) => ['GET', `/admin/teams/${enc(name)}`]));
addLimitOptions(
  teams
    .command('update <name>')
    .option('--budget <tokens>', 'token budget per period', int)
    .addOption(new Option('--period <period>', 'budget period').choices(periods)),
).action(
  adminAction((name: string, o: LimitFlags & { budget?: number; period?: string }) => [
    'PATCH',
    `/admin/teams/${enc(name)}`,
    { ...budgetField(o), ...limitFields(o) },
  ]),
);
teams.command('delete <name>').action(
  adminAction((name: string) => ['DELETE', `/admin/teams/${enc(name)}`], {
    done: (name) => `deleted team ${name}; its keys are revoked, its ledger rows are kept`,
  }),
);

const keys = program.command('keys').description('issue, list, revoke and rotate team keys');
addLimitOptions(
  keys
    .command('issue <team>')
    .option('--label <label>', 'what the key is for')
    .option('--expires-at <iso>', 'expiry, e.g. 2027-01-01T00:00:00Z')
    .option('--budget <tokens>', "the key's own budget per period, inside its team's", int)
    .addOption(new Option('--period <period>', "the key's budget period (default month)").choices(periods)),
).action(
  adminAction((team: string, o: LimitFlags & { label?: string; expiresAt?: string; budget?: number; period?: string }) => [
    'POST',
    `/admin/teams/${enc(team)}/keys`,
    { label: o.label, expires_at: o.expiresAt, ...budgetField(o), ...limitFields(o) },
  ]),
);
addLimitOptions(
  keys
    .command('update <id>')
    .description("change a key's limits, label or expiry (only the flags given)")
    .option('--label <label>', 'what the key is for')
    .option('--expires-at <iso>', 'expiry, e.g. 2027-01-01T00:00:00Z')
    .option('--budget <tokens>', 'its own budget per period ("none" removes it)', budgetOrNone)
    .addOption(new Option('--period <period>', "the key's budget period").choices(periods)),
).action(
  adminAction((id: string, o: LimitFlags & { label?: string; expiresAt?: string; budget?: number | 'none'; period?: string }) => [
    'PATCH',
    `/admin/keys/${enc(id)}`,
    { label: o.label, expires_at: o.expiresAt, ...budgetField(o), ...limitFields(o) },
  ]),
);
keys
  .command('list')
  .option('--team <team>', 'only this team')
  .action(adminAction((o: { team?: string }) => ['GET', `/admin/keys${o.team ? `?team=${enc(o.team)}` : ''}`]));
keys.command('revoke <id>').action(adminAction((id: string) => ['DELETE', `/admin/keys/${enc(id)}`]));
keys.command('rotate <id>').action(adminAction((id: string) => ['POST', `/admin/keys/${enc(id)}/rotate`]));

const tokens = program.command('tokens').description('create, list and revoke named admin credentials (admin or viewer)');
tokens
  .command('create <name>')
  .addOption(new Option('--role <role>', 'admin changes things, viewer only reads').choices(['admin', 'viewer']).makeOptionMandatory())
  .action(adminAction((name: string, o: { role: string }) => ['POST', '/admin/tokens', { name, role: o.role }]));
tokens.command('list').action(adminAction(() => ['GET', '/admin/tokens']));
tokens.command('revoke <id>').action(adminAction((id: string) => ['DELETE', `/admin/tokens/${enc(id)}`]));

program
  .command('usage')
  .description('the usage ledger per group: requests, tokens spent and saved, hits, rejections')
  .option('--from <day>', 'first day, YYYY-MM-DD (UTC; default: first of this month)')
  .option('--to <day>', 'last day, YYYY-MM-DD (default: last of this month)')
  .option('--group-by <keys>', 'comma-separated subset of team, model, day, key', 'team')
  .option('--team <team>', 'only this team')
  .option('--key <id>', 'only this key')
  .addOption(new Option('--format <format>', 'output format').choices(['json', 'csv']).default('json'))
  .action(
    adminAction((o: { from?: string; to?: string; groupBy: string; format: string; team?: string; key?: string }) => {
      const query = new URLSearchParams({ group_by: o.groupBy, format: o.format });
      if (o.team) query.set('team', o.team);
      if (o.key) query.set('key', o.key);
      if (o.from) query.set('from', o.from);
      if (o.to) query.set('to', o.to);
      return ['GET', `/admin/usage?${query}`];
    }),
  );

program
  .command('audit')
  .description('the audit log: every change made through the admin API or the CLI')
  .option('--from <time>', 'from this UTC day (YYYY-MM-DD) or ISO time')
  .option('--to <time>', 'up to this UTC day (inclusive) or ISO time')
  .option('--actor <name>', 'only changes by this credential (bootstrap, cli, or a token name)')
  .option('--action <action>', 'only this action, e.g. key.revoke')
  .addOption(new Option('--format <format>', 'output format').choices(['json', 'csv']).default('json'))
  .action(
    adminAction((o: { from?: string; to?: string; actor?: string; action?: string; format: string }) => {
      const query = new URLSearchParams({ format: o.format });
      for (const name of ['from', 'to', 'actor', 'action'] as const) if (o[name]) query.set(name, o[name]);
      return ['GET', `/admin/audit?${query}`];
    }),
  );

program
  .command('status')
  .description('upstream balance as last seen, store health, version (needs --url)')
  .action(adminAction(() => ['GET', '/admin/status'], { needsGateway: true }));

// Every failure is one line on stderr and exit code 1; the stack only with DEBUG set.
program.parseAsync().catch((err: unknown) => {
  const known = err instanceof ConfigError || err instanceof CliError || err instanceof StoreUrlError;
  const line = known ? (err as Error).message : `${(err as Error).message ?? String(err)}`.split('\n')[0];
  process.stderr.write(`elumenta-gateway: ${line}\n`);
  if (!known && process.env.DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
