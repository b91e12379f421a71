// Cache hits and tokens saved are counted in memory per (team, model, day) and written in one
// batch per flush: the hit path never waits on the store, a failed write is retried with the
// next flush, and the flusher writes on the configured interval.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { SavingsLedger } from '../../src/ledger/savings.js';
import { createRedisQuotaStore } from '../../src/quota/redis-quota-store.js';
import { createSqliteQuotaStore } from '../../src/quota/sqlite-quota-store.js';
import type { QuotaStore, SavingsRow, SavingsWrite } from '../../src/quota/quota-store.js';
import type { StoreConnection } from '../../src/store/connection.js';
import { storeBackends, cleanup } from '../helpers/backends.js';

const DAY1 = Date.UTC(2026, 0, 15, 23, 59, 0);

describe.each(storeBackends)('savings ledger ($name)', (backend) => {
  let conn: StoreConnection;
  let store: QuotaStore;
  beforeEach(async () => {
    conn = await backend.open();
    store = conn.kind === 'sqlite' ? createSqliteQuotaStore(conn) : createRedisQuotaStore(conn);
  });
  afterEach(async () => cleanup(conn));

  it('sums per team, model and day, and writes one batch per flush', async () => {
    const clock = new ManualClock(DAY1);
    const addSavings = vi.spyOn(store, 'addSavings');
    const savings = new SavingsLedger(store, clock, (err) => {
      throw err;
    });
    savings.record('ml', 'gpt-5', 'hit', 2);
    savings.record('ml', 'gpt-5', 'hit', 2);
    savings.record('ml', 'gpt-5', 'coalesced', 2);
    savings.record('web', 'gpt-5', 'hit', 2);
    clock.advance(2 * 60_000); // past midnight UTC: a new ledger day
    savings.record('ml', 'gpt-5', 'hit', 2);
    expect(addSavings).not.toHaveBeenCalled();
    expect(savings.pendingGroups).toBe(3);
    await savings.flush();
    expect(addSavings).toHaveBeenCalledTimes(1);
    expect(savings.pendingGroups).toBe(0);
    const rows = await store.ledger('2026-01-15', '2026-01-16');
    expect(rows.map((r) => [r.day, r.team, r.model, r.hits, r.coalesced, r.tokens_saved, r.requests])).toEqual([
      ['2026-01-15', 'ml', 'gpt-5', 2, 1, 6, 3],
      ['2026-01-15', 'web', 'gpt-5', 1, 0, 2, 1],
      ['2026-01-16', 'ml', 'gpt-5', 1, 0, 2, 1],
    ]);
    await savings.flush(); // nothing new: no write
    expect(addSavings).toHaveBeenCalledTimes(1);
  });

  it('keeps the counts when a write fails and writes them with the next flush', async () => {
    const clock = new ManualClock(DAY1);
    const failures: unknown[] = [];
    const real = store.addSavings.bind(store);
    let down = true;
    const flaky = {
      addSavings: async (rows: SavingsWrite[]) => {
        if (down) throw new Error('store unreachable (test)');
        return real(rows);
      },
    };
    const savings = new SavingsLedger(flaky, clock, (err) => failures.push(err));
    savings.record('ml', 'gpt-5', 'hit', 2);
    await savings.flush();
    expect(failures).toHaveLength(1);
    savings.record('ml', 'gpt-5', 'hit', 3);
    down = false;
    await savings.stop();
    const [row] = await store.ledger('2026-01-15', '2026-01-15');
    expect(row).toMatchObject({ team: 'ml', hits: 2, tokens_saved: 5 });
  });
});

describe('savings flusher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('flushes on its interval', async () => {
    const written: SavingsRow[][] = [];
    const savings = new SavingsLedger({ addSavings: async (rows) => void written.push(rows) }, new ManualClock(DAY1), () => {});
    savings.start(1_000);
    savings.record('ml', 'gpt-5', 'hit', 2);
    await vi.advanceTimersByTimeAsync(999);
    expect(written).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(written).toEqual([[{ team: 'ml', key: '', model: 'gpt-5', day: '2026-01-15', hits: 1, coalesced: 0, tokens_saved: 2, writer: expect.any(String), seq: 1 }]]);
    savings.record('ml', 'gpt-5', 'coalesced', 2);
    await savings.stop();
    expect(written).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(written).toHaveLength(2);
  });
});
