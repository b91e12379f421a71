// A savings flush on Redis whose reply is lost after Redis applied it (the connection drops
// between the write and its answer): its scripts are sent again (by the client on reconnection,
// or by the next flush), and the ledger must count them once. A TCP proxy in front of the real
// Redis loses that one reply.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { SavingsLedger } from '../../src/ledger/savings.js';
import { createRedisQuotaStore } from '../../src/quota/redis-quota-store.js';
import type { QuotaStore } from '../../src/quota/quota-store.js';
import type { RedisConnection } from '../../src/store/connection.js';
import { cleanup, openRedisAt, redisUrl } from '../helpers/backends.js';
import { startLostReplyProxy, type LostReplyProxy } from '../helpers/lost-reply-proxy.js';

const DAY = Date.UTC(2026, 0, 15, 12, 0, 0);

describe('savings flush whose reply is lost (redis)', () => {
  let proxy: LostReplyProxy;
  let conn: RedisConnection;
  let store: QuotaStore;
  beforeEach(async () => {
    proxy = await startLostReplyProxy(redisUrl);
    conn = (await openRedisAt(proxy.url)) as RedisConnection;
    store = createRedisQuotaStore(conn);
  });
  afterEach(async () => {
    await cleanup(conn);
    await proxy.close();
  });

  it('counts the rows of the flush once', async () => {
    const errors: unknown[] = [];
    const savings = new SavingsLedger(store, new ManualClock(DAY), (err) => errors.push(err));
    savings.record('ml', 'gpt-5', 'hit', 2);
    savings.record('web', 'gpt-5', 'coalesced', 4);
    await savings.flush(); // the scripts are loaded, the team indexes written: the next flush sends its scripts only
    expect(errors).toHaveLength(0);

    savings.record('ml', 'gpt-5', 'hit', 3);
    savings.record('web', 'gpt-5', 'hit', 5);
    proxy.loseNextReplyTo('evalsha');
    await savings.flush();
    expect(proxy.lost()).toBe(1);
    // The client reconnects through the proxy and sends the script again itself (ioredis resends
    // what was unanswered); had it failed the flush instead, the next flush would send the rows again.

    await vi.waitFor(() => expect(conn.redis.status).toBe('ready'), { timeout: 5_000, interval: 20 });
    savings.record('ml', 'gpt-5', 'hit', 7); // counted meanwhile: written with them
    await savings.flush();
    expect(savings.pendingGroups).toBe(0);

    const rows = await store.ledger('2026-01-15', '2026-01-15');
    // On main: ml hits 4 and tokens_saved 15, web hits 2 and tokens_saved 14 (the lost flush counted twice).
    expect(rows.map((r) => [r.team, r.requests, r.hits, r.coalesced, r.tokens_saved])).toEqual([
      ['ml', 3, 3, 0, 12],
      ['web', 2, 1, 1, 9],
    ]);
  });

  it('counts them once when the flush failed and the next one sends them again', async () => {
    const errors: unknown[] = [];
    const savings = new SavingsLedger(store, new ManualClock(DAY), (err) => errors.push(err));
    savings.record('ml', 'gpt-5', 'hit', 2);
    await savings.flush();
    expect(errors).toHaveLength(0);

    savings.record('ml', 'gpt-5', 'hit', 3);
    // The client's own resend once reconnected (an EVAL) gets an error: the flush fails.
    proxy.loseNextReplyTo(`${conn.prefix}ledger:{t:ml}:`, { thenRefuse: true });
    await savings.flush();
    expect(proxy.lost()).toBe(1);
    expect(errors).toHaveLength(1); // the flush does not know its row was written
    expect(savings.pendingGroups).toBe(1);

    savings.record('ml', 'gpt-5', 'hit', 7);
    await savings.flush(); // the row again, unchanged, alone: the new count waits for it to be confirmed
    expect(savings.pendingGroups).toBe(1);
    await savings.flush(); // the new count, under a new flush number
    expect(savings.pendingGroups).toBe(0);
    expect(errors).toHaveLength(1);

    const rows = await store.ledger('2026-01-15', '2026-01-15');
    // On main: hits 4, tokens_saved 15 (the lost flush's row counted twice).
    expect(rows.map((r) => [r.team, r.hits, r.tokens_saved])).toEqual([['ml', 3, 12]]);
  });
});
