// The usage ledger on Redis: one hash per (team, day), a field per model, key and counter, beside
// the team's quota keys under the same hash tag, so the quota scripts write a charge and its
// ledger count in one atomic step. This module owns the names, the savings and plain writes, and
// the report's read.
import type { RedisConnection } from '../store/connection.js';
import { ledgerAddLua, savingsAddLua } from '../quota/lua/quota-scripts.js';
import { COUNTERS, emptyCounters, type LedgerCounters, type LedgerPlace, type LedgerRow } from './counters.js';
import { SavingsNotWritten, type SavingsWrite } from '../quota/quota-store.js';

/** How long a (team, day)'s savings writers are remembered after their last write: a lost reply's retry comes well within it. */
const SAVINGS_WRITERS_KEPT_MS = 86_400_000;

const scripts = {
  egwQuotaLedgerAdd: { numberOfKeys: 2, lua: ledgerAddLua },
  egwQuotaSavingsAdd: { numberOfKeys: 3, lua: savingsAddLua },
} as const;

/** A team's hash tag: its quota keys and its ledger share one Cluster slot. */
export const teamTag = (team: string) => `{t:${team}}`;

/** A ledger hash field's model part: `model`, or `model|@key` for a count made with a key. */
export const ledgerField = (model: string, key: string | undefined) => (key ? `${model}|@${key}` : model);

function parseLedgerField(field: string): { model: string; key: string; counter: keyof LedgerCounters } {
  const parts = field.split('|');
  const counter = parts.pop() as keyof LedgerCounters;
  const key = parts.length > 1 && parts[parts.length - 1].startsWith('@') ? parts.pop()!.slice(1) : '';
  return { model: parts.join('|'), key, counter };
}

export interface RedisLedger {
  /** Every team with a ledger (a listing index, not a decision). */
  readonly teamsKey: string;
  /** The team's hash for `day`, and its set of days: the quota scripts write both with a charge. */
  dayKey(team: string, day: string): string;
  daysKey(team: string): string;
  /** Adds plain counts (an outcome-unknown, a rejection). */
  add(place: LedgerPlace, add: Partial<LedgerCounters>): Promise<void>;
  /** See QuotaStore.addSavings. */
  addSavings(rows: SavingsWrite[]): Promise<void>;
  /** Rows of days `from` to `to` (inclusive), in day, team, model, key order. */
  rows(from: string, to: string): Promise<LedgerRow[]>;
}

/** `index(set, team)` adds a team to a listing set (the quota store's, which remembers what it added lately). */
export function redisLedger(conn: RedisConnection, index: (set: string, team: string) => void): RedisLedger {
  const { redis, prefix } = conn;
  for (const [name, def] of Object.entries(scripts)) redis.defineCommand(name, def);
  const call = redis as unknown as Record<keyof typeof scripts, (...a: (string | number)[]) => Promise<unknown>>;
  const teamsKey = `${prefix}ledger:teams`;
  const dayKey = (team: string, day: string) => `${prefix}ledger:${teamTag(team)}:${day}`;
  const daysKey = (team: string) => `${prefix}ledger:${teamTag(team)}:days`;
  /** Per savings writer (a process), the last of its flushes applied to the day's ledger. */
  const writersKey = (team: string, day: string) => `${prefix}ledger:${teamTag(team)}:${day}:writers`;

  return {
    teamsKey,
    dayKey,
    daysKey,

    async add({ team, model, day, key }, add) {
      index(teamsKey, team);
      const pairs = Object.entries(add).flat() as (string | number)[];
      await call.egwQuotaLedgerAdd(dayKey(team, day), daysKey(team), day, ledgerField(model, key || undefined), ...pairs);
    },

    async addSavings(rows) {
      // One script per (writer, team, day), atomic on the team's slot (teams cannot share one);
      // the scripts of a flush share a round trip (auto-pipelining).
      const groups = new Map<string, SavingsWrite[]>();
      for (const r of rows) {
        const id = JSON.stringify([r.writer, r.team, r.day]);
        const group = groups.get(id);
        if (group) group.push(r);
        else groups.set(id, [r]);
      }
      const sent = [...groups.values()];
      const outcomes = await Promise.allSettled(
        sent.map((group) => {
          const { team, day, writer } = group[0];
          index(teamsKey, team);
          return call.egwQuotaSavingsAdd(
            dayKey(team, day), daysKey(team), writersKey(team, day), day, writer, SAVINGS_WRITERS_KEPT_MS,
            ...group.flatMap((r) => [
              r.seq, ledgerField(r.model, r.key || undefined), r.hits + r.coalesced, r.hits, r.coalesced, r.tokens_saved,
            ]),
          );
        }),
      );
      const failed = outcomes.flatMap((o, n) => (o.status === 'rejected' ? [{ rows: sent[n], reason: o.reason as unknown }] : []));
      if (failed.length > 0) throw new SavingsNotWritten(failed.flatMap((f) => f.rows), failed[0].reason);
    },

    async rows(from, to) {
      const teams = await redis.smembers(teamsKey);
      const wanted: { team: string; day: string }[] = [];
      const dayLists = await Promise.all(teams.map((team) => redis.smembers(daysKey(team))));
      teams.forEach((team, n) => {
        for (const day of dayLists[n]) if (day >= from && day <= to) wanted.push({ team, day });
      });
      const hashes = await Promise.all(wanted.map(({ team, day }) => redis.hgetall(dayKey(team, day))));
      const rows = new Map<string, LedgerRow>();
      wanted.forEach(({ team, day }, n) => {
        for (const [field, value] of Object.entries(hashes[n])) {
          const { model, key, counter } = parseLedgerField(field);
          const id = JSON.stringify([day, team, model, key]);
          let row = rows.get(id);
          if (!row) {
            row = { day, team, model, key, ...emptyCounters() };
            rows.set(id, row);
          }
          if ((COUNTERS as readonly string[]).includes(counter)) row[counter] += Number(value);
        }
      });
      const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
      return [...rows.values()].sort(
        (a, b) => cmp(a.day, b.day) || cmp(a.team, b.team) || cmp(a.model, b.model) || cmp(a.key, b.key),
      );
    },
  };
}
