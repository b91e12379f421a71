// QuotaStore on Redis, shared by replicas: each decision is one Lua script (./lua/quota-scripts.ts)
// over keys that share the team's hash tag, so it is atomic and Cluster-safe. Team indexes
// (plain SADD outside the scripts) only help listing; they never decide anything. The ledger's
// keys and writes are in ../ledger/redis-ledger.ts.
import { sendRedisGrant } from '../generations/grant-store.js';
import { ReplicasBehind, type RedisConnection } from '../store/connection.js';
import { carryKeyLua, extendLua, rebaseLua, reserveLua, settleLua, usageLua } from './lua/quota-scripts.js';
import { ledgerField, redisLedger, teamTag } from '../ledger/redis-ledger.js';
import { spendIn } from './period-carry.js';
import { ledgerDay } from './periods.js';
import type { LimitScope, QuotaStore, RateLimitName, RateWindow, ReserveInput, ReserveResult } from './quota-store.js';

/** How long a reservation's record outlives its lease or settlement, to recognise a second settle (see the SQLite store). */
const SETTLED_KEPT_MS = 3_600_000;
// Reserve and settle always get every rate window's keys (unused ones stay untouched): a fixed
// key count keeps the first argument a key, which Cluster auto-pipelining routes by.
const scripts = {
  egwQuotaReserve: { numberOfKeys: 12, lua: reserveLua },
  egwQuotaSettle: { numberOfKeys: 10, lua: settleLua },
  egwQuotaExtend: { numberOfKeys: 2, lua: extendLua },
  egwQuotaUsage: { numberOfKeys: 3, lua: usageLua },
  egwQuotaCarryKey: { numberOfKeys: 2, lua: carryKeyLua },
  egwQuotaRebase: { numberOfKeys: 1, lua: rebaseLua },
} as const;
type ScriptName = keyof typeof scripts;
type Arg = string | number;
/** A team is added to an index again at most this often by one process (the set keeps it anyway). */
const INDEX_REFRESH_MS = 60_000;

export interface RedisQuotaStoreOptions {
  /** Take `now` from Redis TIME inside the scripts, so replicas with skewed clocks agree. */
  useRedisTime?: boolean;
}

export function createRedisQuotaStore(conn: RedisConnection, options: RedisQuotaStoreOptions = {}): QuotaStore {
  const { redis, prefix } = conn;
  // defineCommand: ioredis calls EVALSHA and reloads the script by itself on NOSCRIPT.
  for (const [name, def] of Object.entries(scripts)) redis.defineCommand(name, def);
  const useTime = options.useRedisTime ? '1' : '0';

  const k = {
    quotaTeams: `${prefix}q:teams`,
    state: (team: string) => `${prefix}q:${teamTag(team)}:state`,
    leases: (team: string) => `${prefix}q:${teamTag(team)}:leases`,
    held: (team: string) => `${prefix}q:${teamTag(team)}:held`,
    keyState: (team: string, key: string) => `${prefix}q:${teamTag(team)}:k:${key}:state`,
    keyHeld: (team: string, key: string) => `${prefix}q:${teamTag(team)}:k:${key}:held`,
    /** A rate window's buckets (../rate-buckets.ts); key windows live under the team's tag too. */
    window: (team: string, keyId: string | undefined, w: Pick<RateWindow, 'scope' | 'limit'>) =>
      `${prefix}q:${teamTag(team)}:w:${w.scope === 'key' ? `k:${keyId}` : 'team'}:${w.limit}:buckets`,
    /** Stands for a window that did not count a reservation: no script writes it. */
    noWindow: (team: string) => `${prefix}q:${teamTag(team)}:w:none`,
    record: (team: string, id: string) => `${prefix}q:${teamTag(team)}:r:${id}`,
  };

  const call = redis as unknown as Record<ScriptName, (...a: Arg[]) => Promise<unknown>>;
  const indexedAt = new Map<string, number>();
  /** Adds `team` to `index` unless this process did so lately; a failed add is tried again next time. */
  const index = (name: string, team: string) => {
    const id = `${name} ${team}`;
    const at = indexedAt.get(id);
    if (at !== undefined && performance.now() - at < INDEX_REFRESH_MS) return;
    indexedAt.set(id, performance.now());
    redis.sadd(name, team).catch(() => indexedAt.delete(id)); // listing only: never fails a decision
  };
  const ledger = redisLedger(conn, index);

  /**
   * Adds `team` to the given indexes, runs one script, and sends whatever `also` sends (a
   * grant): commands of one turn share a round trip (auto-pipelining, src/store/connection.ts).
   * Returns the script's reply; a failed script or `also` command throws.
   */
  const run = async (
    team: string,
    indexes: string[],
    name: ScriptName,
    args: Arg[],
    also?: () => Promise<unknown>[],
  ): Promise<unknown> => {
    for (const set of indexes) index(set, team);
    const [out] = await Promise.all([call[name](...args), ...(also?.() ?? [])]);
    return out;
  };
  /** A key's state and held hashes; without a key, names no script writes (it checks the key id first). */
  const keyKeys = (team: string, keyId: string | undefined) => [k.keyState(team, keyId ?? '-'), k.keyHeld(team, keyId ?? '-')];
  /** Every window's hash, in the order the reserve script indexes them (team rpm, team tpm, key rpm, key tpm). */
  const windowKeys = (team: string, keyId: string | undefined) =>
    (['team', 'key'] as const).flatMap((scope) =>
      (['requests_per_minute', 'tokens_per_minute'] as const).map((limit) => k.window(team, keyId ?? '-', { scope, limit })),
    );

  const decide = async (i: ReserveInput, probe: boolean): Promise<ReserveResult> => {
    const keys = [
      k.state(i.team), k.leases(i.team), k.held(i.team), k.record(i.team, i.reservationId),
      ledger.dayKey(i.team, i.day), ledger.daysKey(i.team), ...keyKeys(i.team, i.key?.id), ...windowKeys(i.team, i.key?.id),
    ];
    const out = (await run(i.team, probe ? [] : [k.quotaTeams, ledger.teamsKey], 'egwQuotaReserve', [
      ...keys,
      i.reservationId, i.amount, i.budgetTokens ?? '', i.periodId, i.leaseMs, ledgerField(i.model, i.key?.id), i.day,
      i.now, useTime, i.leaseMs + SETTLED_KEPT_MS,
      i.key?.id ?? '', i.key?.budgetTokens ?? '', i.key?.periodId ?? '', probe ? '1' : '0',
      i.windows.length, ...i.windows.flatMap((w) => [w.scope, w.limit, w.max]),
    ])) as string[];
    const [verdict, a, b, c] = out;
    if (verdict === 'rate_limit') {
      return { ok: false, reason: 'rate_limit', scope: a as LimitScope, limit: b as RateLimitName, retryAfterMs: Number(c) };
    }
    if (verdict === 'budget') return { ok: false, reason: 'budget', scope: a as LimitScope, spent: Number(b), reserved: Number(c) };
    return { ok: true, spent: Number(a), reserved: Number(b), left: c === '' ? null : Number(c) };
  };

  const redisNow = async () => {
    const [sec, micro] = await redis.time();
    return Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
  };

  return {
    async reserve(i) {
      return decide(i, false);
    },

    async room(i) {
      const out = await decide({ ...i, reservationId: '-', amount: 0, leaseMs: 0, model: '', day: ledgerDay(i.now) }, true);
      return out.ok ? out.left : null;
    },

    async settle(i) {
      const { grant, key } = i;
      const failed = i.outcome === 'failed' || i.outcome === 'error' ? '1' : '0';
      const keys = [
        k.state(i.team), k.leases(i.team), k.held(i.team), k.record(i.team, i.reservationId),
        ledger.dayKey(i.team, i.day), ledger.daysKey(i.team), ...keyKeys(i.team, key?.id),
        ...(['team', 'key'] as const).map((scope) =>
          i.tokenWindows?.includes(scope) ? k.window(i.team, key?.id ?? '-', { scope, limit: 'tokens_per_minute' }) : k.noWindow(i.team)),
      ];
      const epoch = conn.epoch();
      const out = await run(i.team, [ledger.teamsKey], 'egwQuotaSettle', [
        ...keys,
        i.reservationId, i.actual, i.periodId, ledgerField(i.model, key?.id), i.day, failed, SETTLED_KEPT_MS,
        key?.id ?? '', key?.periodId ?? '',
      ], grant && (() => sendRedisGrant(redis, prefix, grant.generationId, grant.team)));
      const settled = Number(out) === 1;
      // store.redis_wait_replicas: on the replicas too, or the settlement journal keeps it until it is.
      if (!(await conn.waitReplicas())) throw new ReplicasBehind(settled, epoch);
      return settled;
    },

    async extend(team, id, leaseMs, now) {
      await run(team, [], 'egwQuotaExtend', [k.leases(team), k.record(team, id), id, leaseMs, now, useTime, leaseMs + SETTLED_KEPT_MS]);
    },

    markUnknown: (at) => ledger.add(at, { requests: 1, outcome_unknown: 1 }),
    countRejection: (at) => ledger.add(at, { requests: 1, rejections: 1 }),

    async usage(team, periodId, now) {
      const out = (await run(team, [], 'egwQuotaUsage', [
        k.state(team), k.leases(team), k.held(team), periodId, now, useTime,
      ])) as [string, string, number];
      return { spent: Number(out[0]), reserved: Number(out[1]), outstanding: Number(out[2]) };
    },

    async keySpent(team, keyId, periodId) {
      const [period, spent] = await redis.hmget(k.keyState(team, keyId), 'period', 'spent');
      return spendIn(period ?? undefined, Number(spent ?? 0), periodId);
    },

    // Admin changes (rotation, a period's change): on the replicas asked for too, as the team registry's changes.
    async carryKeySpend(team, fromKeyId, toKeyId) {
      await run(team, [], 'egwQuotaCarryKey', [k.keyState(team, fromKeyId), k.keyState(team, toKeyId)]);
      await conn.waitReplicas();
    },

    async rebasePeriod(team, keyId, from, to, charged) {
      await run(team, [], 'egwQuotaRebase', [keyId === null ? k.state(team) : k.keyState(team, keyId), from, to, charged]);
      await conn.waitReplicas();
    },

    async outstanding(now) {
      const at = options.useRedisTime ? await redisNow() : now;
      const teams = await redis.smembers(k.quotaTeams);
      if (teams.length === 0) return 0;
      // One command per team (each on its team's slot), batched by auto-pipelining.
      const counts = await Promise.all(teams.map((team) => redis.zcount(k.leases(team), `(${at}`, '+inf')));
      return counts.reduce((sum, n) => sum + n, 0);
    },

    addSavings: (rows) => ledger.addSavings(rows),
    ledger: (from, to) => ledger.rows(from, to),
  };
}
