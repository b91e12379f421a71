// QuotaStore on Redis, shared by replicas: each decision is one Lua script (./lua/quota-scripts.ts)
// over keys that share the team's hash tag, so it is atomic and Cluster-safe. Team indexes
// (plain SADD outside the scripts) only help listing; they never decide anything.
import { sendRedisGrant } from '../generations/grant-store.js';
import type { RedisConnection } from '../store/connection.js';
import { extendLua, ledgerAddLua, reserveLua, settleLua, usageLua } from './lua/quota-scripts.js';
import { COUNTERS, emptyCounters } from '../ledger/counters.js';
import type { LedgerCounters, LedgerRow, QuotaStore } from './quota-store.js';

/** How long a reservation's record outlives its lease or settlement, to recognise a second settle (see the SQLite store). */
const SETTLED_KEPT_MS = 3_600_000;

const scripts = {
  egwQuotaReserve: { numberOfKeys: 7, lua: reserveLua },
  egwQuotaSettle: { numberOfKeys: 6, lua: settleLua },
  egwQuotaExtend: { numberOfKeys: 2, lua: extendLua },
  egwQuotaUsage: { numberOfKeys: 3, lua: usageLua },
  egwQuotaLedgerAdd: { numberOfKeys: 2, lua: ledgerAddLua },
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

  const tag = (team: string) => `{t:${team}}`;
  const k = {
    quotaTeams: `${prefix}q:teams`,
    ledgerTeams: `${prefix}ledger:teams`,
    state: (team: string) => `${prefix}q:${tag(team)}:state`,
    leases: (team: string) => `${prefix}q:${tag(team)}:leases`,
    held: (team: string) => `${prefix}q:${tag(team)}:held`,
    rate: (team: string) => `${prefix}q:${tag(team)}:rate`,
    record: (team: string, id: string) => `${prefix}q:${tag(team)}:r:${id}`,
    ledger: (team: string, day: string) => `${prefix}ledger:${tag(team)}:${day}`,
    days: (team: string) => `${prefix}ledger:${tag(team)}:days`,
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
  const ledgerAdd = (team: string, model: string, day: string, add: Partial<LedgerCounters>) => {
    const pairs = Object.entries(add).flat() as Arg[];
    return run(team, [k.ledgerTeams], 'egwQuotaLedgerAdd', [k.ledger(team, day), k.days(team), day, model, ...pairs]);
  };
  const redisNow = async () => {
    const [sec, micro] = await redis.time();
    return Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
  };

  return {
    async reserve(i) {
      const out = (await run(i.team, [k.quotaTeams, k.ledgerTeams], 'egwQuotaReserve', [
        k.state(i.team), k.leases(i.team), k.held(i.team), k.rate(i.team), k.record(i.team, i.reservationId),
        k.ledger(i.team, i.day), k.days(i.team),
        i.reservationId, i.amount, i.budgetTokens ?? '', i.periodId, i.leaseMs, i.requestsPerMinute ?? '',
        i.model, i.day, i.now, useTime, i.leaseMs + SETTLED_KEPT_MS,
      ])) as [string, string, string?];
      const [verdict, a, b] = out;
      if (verdict === 'rate_limit') return { ok: false, reason: 'rate_limit', retryAfterMs: Number(a) };
      if (verdict === 'budget') return { ok: false, reason: 'budget', spent: Number(a), reserved: Number(b) };
      return { ok: true, spent: Number(a), reserved: Number(b) };
    },

    async settle(i) {
      const { grant } = i;
      const failed = i.outcome === 'failed' || i.outcome === 'error' ? '1' : '0';
      const out = await run(i.team, [k.ledgerTeams], 'egwQuotaSettle', [
        k.state(i.team), k.leases(i.team), k.held(i.team), k.record(i.team, i.reservationId),
        k.ledger(i.team, i.day), k.days(i.team),
        i.reservationId, i.actual, i.periodId, i.model, i.day, failed, SETTLED_KEPT_MS,
      ], grant && (() => sendRedisGrant(redis, prefix, grant.generationId, grant.team)));
      await conn.waitReplicas(); // store.redis_wait_replicas: the settlement is on the replicas too
      return Number(out) === 1;
    },

    async extend(team, id, leaseMs, now) {
      await run(team, [], 'egwQuotaExtend', [k.leases(team), k.record(team, id), id, leaseMs, now, useTime, leaseMs + SETTLED_KEPT_MS]);
    },

    async markUnknown({ team, model, day }) {
      await ledgerAdd(team, model, day, { requests: 1, outcome_unknown: 1 });
    },

    async countRejection({ team, model, day }) {
      await ledgerAdd(team, model, day, { requests: 1, rejections: 1 });
    },

    async usage(team, periodId, now) {
      const out = (await run(team, [], 'egwQuotaUsage', [
        k.state(team), k.leases(team), k.held(team), periodId, now, useTime,
      ])) as [string, string, number];
      return { spent: Number(out[0]), reserved: Number(out[1]), outstanding: Number(out[2]) };
    },

    async outstanding(now) {
      const at = options.useRedisTime ? await redisNow() : now;
      const teams = await redis.smembers(k.quotaTeams);
      if (teams.length === 0) return 0;
      // One command per team (each on its team's slot), batched by auto-pipelining.
      const counts = await Promise.all(teams.map((team) => redis.zcount(k.leases(team), `(${at}`, '+inf')));
      return counts.reduce((sum, n) => sum + n, 0);
    },

    async addSavings(rows) {
      // Each row is atomic on its team's slot; rows of different teams cannot share a script.
      await Promise.all(
        rows.map((r) =>
          ledgerAdd(r.team, r.model, r.day, {
            requests: r.hits + r.coalesced, hits: r.hits, coalesced: r.coalesced, tokens_saved: r.tokens_saved,
          }),
        ),
      );
    },

    async ledger(from, to) {
      const teams = await redis.smembers(k.ledgerTeams);
      const wanted: { team: string; day: string }[] = [];
      const dayLists = await Promise.all(teams.map((team) => redis.smembers(k.days(team))));
      teams.forEach((team, n) => {
        for (const day of dayLists[n]) if (day >= from && day <= to) wanted.push({ team, day });
      });
      const hashes = await Promise.all(wanted.map(({ team, day }) => redis.hgetall(k.ledger(team, day))));
      const rows = new Map<string, LedgerRow>();
      wanted.forEach(({ team, day }, n) => {
        for (const [field, value] of Object.entries(hashes[n])) {
          const cut = field.lastIndexOf('|');
          const model = field.slice(0, cut);
          const counter = field.slice(cut + 1) as keyof LedgerCounters;
          const id = JSON.stringify([day, team, model]);
          let row = rows.get(id);
          if (!row) {
            row = { day, team, model, ...emptyCounters() };
            rows.set(id, row);
          }
          if ((COUNTERS as readonly string[]).includes(counter)) row[counter] += Number(value);
        }
      });
      const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
      return [...rows.values()].sort((a, b) => cmp(a.day, b.day) || cmp(a.team, b.team) || cmp(a.model, b.model));
    },
  };
}
