// Savings flushes Redis refuses (a ledger hash that is not a hash: WRONGTYPE). A flush writes each
// team's rows on its own (one atomic script per slot): when one fails and the others were written,
// the retry must not write those again. While every write fails and hits keep being counted, the
// ledger holds at most two rows a group (a row per failed flush once filled its bound and dropped
// every new count), and once the store takes writes again it counts everything once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { SavingsLedger } from '../../src/ledger/savings.js';
import { createRedisQuotaStore } from '../../src/quota/redis-quota-store.js';
import type { QuotaStore } from '../../src/quota/quota-store.js';
import type { RedisConnection, StoreConnection } from '../../src/store/connection.js';
import { backends, cleanup } from '../helpers/backends.js';

const DAY = Date.UTC(2026, 0, 15, 12, 0, 0);
const TEAMS = ['ml', 'web', 'ops'];
const MODELS = ['gpt-5', 'gpt-5-mini'];
const GROUPS = TEAMS.length * MODELS.length;

describe('savings flushes Redis refuses (redis)', () => {
  let conn: StoreConnection;
  let store: QuotaStore;
  beforeEach(async () => {
    conn = await backends.find((b) => b.name === 'redis')!.open();
    store = createRedisQuotaStore(conn as RedisConnection);
  });
  afterEach(async () => cleanup(conn));

  it('counts the rows that were written once', async () => {
    const { redis, prefix } = conn as RedisConnection;
    // Team web's ledger hash for the day is not a hash: its row's script fails (WRONGTYPE), ml's succeeds.
    const webLedger = `${prefix}ledger:{t:web}:2026-01-15`;
    await redis.set(webLedger, 'not a hash');
    const errors: unknown[] = [];
    const savings = new SavingsLedger(store, new ManualClock(DAY), (err) => errors.push(err));
    savings.record('ml', 'gpt-5', 'hit', 2);
    savings.record('web', 'gpt-5', 'hit', 2);
    await savings.flush();
    expect(errors).toHaveLength(1);
    await redis.del(webLedger); // the store takes web's row again
    await savings.flush();
    const rows = await store.ledger('2026-01-15', '2026-01-15');
    // Before SavingsNotWritten: ml had hits 2, tokens_saved 4 (its row was written by both flushes).
    expect(rows.map((r) => [r.team, r.hits, r.tokens_saved])).toEqual([
      ['ml', 1, 2],
      ['web', 1, 2],
    ]);
  });

  it('keeps memory bounded by the groups and counts everything once', async () => {
    const { redis, prefix } = conn as RedisConnection;
    const errors: unknown[] = [];
    const savings = new SavingsLedger(store, new ManualClock(DAY), (err) => errors.push(err));
    const counted = new Map<string, { hits: number; tokens_saved: number }>();
    let n = 0;
    const countRound = () => {
      for (const team of TEAMS) {
        for (const model of MODELS) {
          const tokens = 1 + (n++ % 7);
          savings.record(team, model, 'hit', tokens);
          const c = counted.get(`${team} ${model}`) ?? { hits: 0, tokens_saved: 0 };
          counted.set(`${team} ${model}`, { hits: c.hits + 1, tokens_saved: c.tokens_saved + tokens });
        }
      }
    };
    countRound();
    await savings.flush(); // written: the outage starts with every (team, day) confirmed
    expect(errors).toHaveLength(0);

    // Every team's ledger hash for the day is not a hash: each script fails (WRONGTYPE), nothing written.
    const ledgers = TEAMS.map((team) => `${prefix}ledger:{t:${team}}:2026-01-15`);
    for (const key of ledgers) await redis.set(key, 'not a hash');
    counted.clear(); // the first round's rows went with them
    const seen: number[] = [];
    for (let flush = 0; flush < 20; flush++) {
      countRound();
      await savings.flush();
      seen.push(savings.pendingGroups);
    }
    expect(errors).toHaveLength(20);
    // Before the bound: 6, 12, 18, ... 120 (a row per group per failed flush, and the new counts).
    expect(Math.max(...seen)).toBeLessThanOrEqual(2 * GROUPS);

    // Team ml's ledger recovers first: its rows are written, the others' fail again (SavingsNotWritten).
    await redis.del(ledgers[0]);
    countRound();
    await savings.flush(); // ml's unconfirmed flush, sent again, is written
    await savings.flush(); // ml's counts since, under a new flush number
    expect(errors).toHaveLength(22);
    expect(savings.pendingGroups).toBe(2 * (GROUPS - MODELS.length)); // web's and ops' held rows and counts

    // The rest recovers: the rows of the first failed flush (kept unchanged), then those counted since.
    for (const key of ledgers.slice(1)) await redis.del(key);
    countRound();
    await savings.flush();
    await savings.flush();
    expect(savings.pendingGroups).toBe(0);
    expect(errors).toHaveLength(22);

    const rows = await store.ledger('2026-01-15', '2026-01-15');
    const written = new Map(rows.map((r) => [`${r.team} ${r.model}`, { hits: r.hits, tokens_saved: r.tokens_saved }]));
    expect(written.size).toBe(GROUPS);
    expect(written).toEqual(counted);
  });
});
