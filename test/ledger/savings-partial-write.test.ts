// A savings flush on Redis writes each team's row on its own (one atomic script per slot): when
// one row fails and the others were written, the retry must not write those others again.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { SavingsLedger } from '../../src/ledger/savings.js';
import { createRedisQuotaStore } from '../../src/quota/redis-quota-store.js';
import type { QuotaStore } from '../../src/quota/quota-store.js';
import type { RedisConnection, StoreConnection } from '../../src/store/connection.js';
import { backends, cleanup } from '../helpers/backends.js';

const DAY = Date.UTC(2026, 0, 15, 12, 0, 0);

describe('savings flush with one row refused (redis)', () => {
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
    // On main: ml has hits 2, tokens_saved 4 (its row was written by both flushes).
    expect(rows.map((r) => [r.team, r.hits, r.tokens_saved])).toEqual([
      ['ml', 1, 2],
      ['web', 1, 2],
    ]);
  });
});
