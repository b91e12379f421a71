// The QuotaStore conformance suite: the same money math, leases, rate limits and ledger rows
// on SQLite and on a real Redis. Time is the `now` each call passes; nothing sleeps.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGrantStore } from '../../src/generations/grant-store.js';
import { createRedisQuotaStore } from '../../src/quota/redis-quota-store.js';
import { createSqliteQuotaStore } from '../../src/quota/sqlite-quota-store.js';
import type { LimitScope, QuotaStore, RateWindow, ReserveInput, SettleInput } from '../../src/quota/quota-store.js';
import type { StoreConnection } from '../../src/store/connection.js';
import { backends, storeBackends, cleanup, reopen } from '../helpers/backends.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 30); // 30 s into a minute window
const LEASE = 60_000;
const PERIOD = 'month:2026-01';
const zero = { key: '', requests: 0, tokens_spent: 0, tokens_saved: 0, hits: 0, coalesced: 0, rejections: 0, failures: 0, outcome_unknown: 0 };

const storeOf = (conn: StoreConnection): QuotaStore =>
  conn.kind === 'sqlite' ? createSqliteQuotaStore(conn) : createRedisQuotaStore(conn);

const res = (over: Partial<ReserveInput> = {}): ReserveInput => ({
  team: 'ml', reservationId: randomUUID(), amount: 100, budgetTokens: 1000, periodId: PERIOD, leaseMs: LEASE,
  key: null, windows: [], model: 'flux', day: '2026-01-15', now: T0, ...over,
});
const done = (r: ReserveInput, actual: number, over: Partial<SettleInput> = {}): SettleInput => ({
  team: r.team, reservationId: r.reservationId, actual, outcome: 'completed', periodId: r.periodId,
  model: r.model, day: r.day, now: r.now, key: r.key && { id: r.key.id, periodId: r.key.periodId },
  tokenWindows: r.windows.filter((w) => w.limit === 'tokens_per_minute').map((w) => w.scope), ...over,
});
const rpm = (max: number, scope: LimitScope = 'team'): RateWindow => ({ scope, limit: 'requests_per_minute', max });
const tpm = (max: number, scope: LimitScope = 'team'): RateWindow => ({ scope, limit: 'tokens_per_minute', max });

describe.each(storeBackends)('QuotaStore on $name', (backend) => {
  let conn: StoreConnection;
  let store: QuotaStore;
  const extra: StoreConnection[] = [];
  beforeEach(async () => {
    conn = await backend.open();
    store = storeOf(conn);
  });
  afterEach(async () => {
    for (const c of extra.splice(0)) await c.close();
    await cleanup(conn);
  });
  const usage = (now = T0, periodId = PERIOD, team = 'ml') => store.usage(team, periodId, now);

  it('reserves into reserved and settles into spent', async () => {
    const a = res({ amount: 300 });
    const b = res({ amount: 200 });
    expect(await store.reserve(a)).toMatchObject({ ok: true, spent: 0, reserved: 300 });
    expect(await store.reserve(b)).toMatchObject({ ok: true, spent: 0, reserved: 500 });
    expect(await store.settle(done(a, 300))).toBe(true);
    expect(await usage()).toEqual({ spent: 300, reserved: 200, outstanding: 1 });
    expect(await store.reserve(res({ amount: 500 }))).toMatchObject({ ok: true, spent: 300, reserved: 700 });
    expect(await store.reserve(res({ amount: 5000, budgetTokens: null }))).toMatchObject({ ok: true, reserved: 5700 });
  });

  it('refuses over budget with the numbers, and the refusal consumes nothing', async () => {
    await store.reserve(res({ amount: 600 }));
    const refused = await store.reserve(res({ amount: 401, windows: [rpm(2)] }));
    expect(refused).toEqual({ ok: false, reason: 'budget', scope: 'team', spent: 0, reserved: 600 });
    expect(await usage()).toEqual({ spent: 0, reserved: 600, outstanding: 1 });
    // Neither budget nor the rate window was used: two more fit the rpm of 2, exactly to the budget.
    expect(await store.reserve(res({ amount: 200, windows: [rpm(2)] }))).toMatchObject({ ok: true });
    expect(await store.reserve(res({ amount: 200, windows: [rpm(2)] }))).toMatchObject({ ok: true, spent: 0, reserved: 1000 });
    expect((await store.ledger('2026-01-15', '2026-01-15'))[0]).toMatchObject({ requests: 1, rejections: 1 });
  });

  it('grants exactly 10 of 200 concurrent reserves when the budget fits 10', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, () => store.reserve(res())));
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect(await usage()).toEqual({ spent: 0, reserved: 1000, outstanding: 10 });
    expect((await store.ledger('2026-01-15', '2026-01-15'))[0]).toMatchObject({ requests: 190, rejections: 190 });
  });

  it('grants exactly 10 when two connections (replicas) race for the same budget', async () => {
    const other = await reopen(conn);
    extra.push(other);
    const stores = [store, storeOf(other)];
    const results = await Promise.all(Array.from({ length: 200 }, (_, n) => stores[n % 2].reserve(res())));
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect(await stores[1].usage('ml', PERIOD, T0)).toEqual({ spent: 0, reserved: 1000, outstanding: 10 });
  });

  it('settles once: a second settle is a no-op returning false', async () => {
    const r = res();
    await store.reserve(r);
    expect(await store.settle(done(r, 80))).toBe(true);
    expect(await store.settle(done(r, 80))).toBe(false);
    expect(await usage()).toEqual({ spent: 80, reserved: 0, outstanding: 0 });
    expect((await store.ledger('2026-01-15', '2026-01-15'))[0]).toMatchObject({ requests: 1, tokens_spent: 80 });
  });

  it('writes the generation grant a settle carries, in the same step, also when already settled', async () => {
    const grants = createGrantStore(conn);
    const r = res();
    await store.reserve(r);
    expect(await store.settle(done(r, 80, { grant: { generationId: 'gen-1', team: 'ml' } }))).toBe(true);
    expect(await grants.isGranted('gen-1', 'ml', T0)).toBe(true);
    expect(await grants.isGranted('gen-1', 'art', T0)).toBe(false);
    expect(await store.settle(done(r, 80, { grant: { generationId: 'gen-1', team: 'art' } }))).toBe(false);
    expect(await grants.isGranted('gen-1', 'art', T0)).toBe(true);
    expect(await usage()).toEqual({ spent: 80, reserved: 0, outstanding: 0 });
  });

  it('gives the budget back when a lease ends, and still charges a settle after that', async () => {
    const r = res({ amount: 1000 });
    await store.reserve(r);
    expect(await store.reserve(res({ now: T0 + LEASE - 1 }))).toMatchObject({ ok: false, reason: 'budget' });
    expect(await usage(T0 + LEASE)).toEqual({ spent: 0, reserved: 0, outstanding: 0 });
    expect(await store.settle(done(r, 700, { now: T0 + LEASE + 5 }))).toBe(true);
    expect(await usage(T0 + LEASE + 5)).toEqual({ spent: 700, reserved: 0, outstanding: 0 });
    expect(await store.settle(done(r, 700))).toBe(false);
    expect(await store.reserve(res({ amount: 300, now: T0 + LEASE + 5 }))).toMatchObject({ ok: true, spent: 700 });
  });

  it('charges a settle whose lease ran out before any sweep, releasing it once', async () => {
    const r = res({ amount: 400 });
    await store.reserve(r);
    expect(await store.settle(done(r, 400, { now: T0 + 2 * LEASE }))).toBe(true);
    expect(await usage(T0 + 2 * LEASE)).toEqual({ spent: 400, reserved: 0, outstanding: 0 });
  });

  it('extend keeps a lease alive; a lease that ran out is not revived', async () => {
    const r = res({ amount: 1000 });
    await store.reserve(r);
    await store.extend('ml', r.reservationId, 120_000, T0 + 50_000);
    expect(await usage(T0 + 100_000)).toEqual({ spent: 0, reserved: 1000, outstanding: 1 });
    expect(await store.reserve(res({ now: T0 + 100_000 }))).toMatchObject({ ok: false, reason: 'budget' });
    expect(await usage(T0 + 170_000)).toEqual({ spent: 0, reserved: 0, outstanding: 0 });
    await store.extend('ml', r.reservationId, 120_000, T0 + 171_000);
    expect(await usage(T0 + 171_000)).toEqual({ spent: 0, reserved: 0, outstanding: 0 });
    // A shorter extension never cuts a lease.
    const s = res({ now: T0 + 200_000 });
    await store.reserve(s);
    await store.extend('ml', s.reservationId, 1_000, T0 + 200_000);
    expect(await usage(T0 + 200_000 + 30_000)).toMatchObject({ reserved: 100, outstanding: 1 });
  });

  it('starts a new period from zero spent, keeping live reservations', async () => {
    const a = res({ amount: 600 });
    await store.reserve(a);
    await store.settle(done(a, 600));
    const held = res({ amount: 300, leaseMs: 10 * LEASE });
    await store.reserve(held);
    expect(await store.reserve(res({ amount: 200 }))).toMatchObject({ ok: false, spent: 600, reserved: 300 });
    expect(await usage(T0, 'month:2026-02')).toEqual({ spent: 0, reserved: 300, outstanding: 1 });
    const feb = res({ amount: 700, periodId: 'month:2026-02', now: T0 + 1000 });
    expect(await store.reserve(feb)).toMatchObject({ ok: true, spent: 0, reserved: 1000 });
    await store.settle(done(held, 250, { periodId: 'month:2026-02' }));
    expect(await usage(T0 + 1000, 'month:2026-02')).toEqual({ spent: 250, reserved: 700, outstanding: 1 });
    // A replica whose clock is behind (an earlier period of the same kind) reads February's spend, never a fresh zero.
    expect(await usage(T0 + 1000, PERIOD)).toMatchObject({ spent: 250 });
  });

  it('rebases a changed period to its new kind, keeping the spend; other kinds and earlier ids carry it (src/quota/period-carry.ts)', async () => {
    const a = res({ amount: 100 });
    await store.reserve(a);
    await store.settle(done(a, 80));
    // The budget became daily: today keeps the month's 80, tomorrow starts from zero.
    await store.rebasePeriod('ml', null, PERIOD, 'day:2026-01-15', 0);
    const day = res({ amount: 10, periodId: 'day:2026-01-15' });
    expect(await store.reserve(day)).toMatchObject({ ok: true, spent: 80 });
    // A replica still on the monthly period meanwhile: its reserve and settle carry, and leave the day in place.
    const stale = res({ amount: 5 });
    expect(await store.reserve(stale)).toMatchObject({ ok: true, spent: 80 });
    await store.settle(done(stale, 5));
    await store.settle(done(day, 10, { periodId: 'day:2026-01-15' }));
    expect(await usage(T0, 'day:2026-01-15')).toMatchObject({ spent: 95 });
    expect(await usage(T0, 'day:2026-01-16')).toMatchObject({ spent: 0 });
    // A budget with no state yet: the rebase makes one, and a settlement of the old kind landing after it carries into it.
    await store.rebasePeriod('fresh', null, PERIOD, 'day:2026-01-15', 0);
    const late = res({ team: 'fresh', amount: 10 });
    await store.reserve(late);
    await store.settle(done(late, 7));
    expect(await usage(T0, 'day:2026-01-15', 'fresh')).toMatchObject({ spent: 7 });
    expect(await usage(T0, 'day:2026-01-16', 'fresh')).toMatchObject({ spent: 0 });
    // A rebase from a period that is not the stored one's (spent earlier): nothing carries.
    await store.rebasePeriod('ml', null, 'day:2026-02-02', 'week:2026-02-02', 0);
    expect(await usage(T0, 'week:2026-02-02')).toMatchObject({ spent: 0 });
    // To a longer period: never less than what the ledger charged in it so far.
    await store.rebasePeriod('ml', null, 'week:2026-02-02', 'month:2026-02', 120);
    expect(await usage(T0, 'month:2026-02')).toMatchObject({ spent: 120 });
  });

  it('requests per minute: a sliding window, no double burst at a minute boundary', async () => {
    const r = (now: number) => res({ amount: 10, windows: [rpm(3)], now, leaseMs: 10 * LEASE });
    // Three at 29.990-29.992 s into the minute, the fourth refused until the first is a minute old.
    for (let n = 0; n < 3; n++) expect(await store.reserve(r(T0 + n))).toMatchObject({ ok: true });
    expect(await store.reserve(r(T0 + 10))).toEqual({ ok: false, reason: 'rate_limit', scope: 'team', limit: 'requests_per_minute', retryAfterMs: 59_990 });
    // Past the calendar minute's end the window still holds all three.
    expect(await store.reserve(r(T0 + 30_000))).toMatchObject({ ok: false, retryAfterMs: 30_000 });
    expect(await usage(T0 + 30_000)).toEqual({ spent: 0, reserved: 30, outstanding: 3 });
    expect(await store.reserve(r(T0 + 60_000))).toMatchObject({ ok: true, reserved: 40 });
    // The other two (at T0 + 1 and + 2 ms) count in the next 100 ms bucket: a minute and up to 100 ms more.
    expect(await store.reserve(r(T0 + 60_000))).toMatchObject({ ok: false, retryAfterMs: 100 });
    expect(await store.reserve(r(T0 + 60_100))).toMatchObject({ ok: true });
    expect(await store.reserve(res({ team: 'other', windows: [rpm(3)], now: T0 + 60_001 }))).toMatchObject({ ok: true });
    expect((await store.ledger('2026-01-15', '2026-01-15'))[0]).toMatchObject({ team: 'ml', requests: 3, rejections: 3 });
  });

  it('a busy window costs the same as a quiet one: a thousand requests in a second, the next second refused, a minute on', async () => {
    const r = (now: number) => res({ amount: 1, budgetTokens: null, windows: [rpm(1000), tpm(1000)], now, leaseMs: 10 * LEASE });
    for (let n = 0; n < 1000; n++) expect(await store.reserve(r(T0 + n))).toMatchObject({ ok: true });
    expect(await store.reserve(r(T0 + 1000))).toMatchObject({ ok: false, limit: 'requests_per_minute', retryAfterMs: 59_000 });
    expect(await store.reserve(r(T0 + 60_000))).toMatchObject({ ok: true }); // the one at T0 left
    expect(await store.reserve(r(T0 + 125_000))).toMatchObject({ ok: true }); // long idle: every bucket left at once
    expect(await store.room({ team: 'ml', budgetTokens: null, periodId: PERIOD, key: null, windows: [tpm(1000)], now: T0 + 125_000 })).toBe(999);
  });

  it('tokens per minute: counts estimates, corrects them at settlement, says when room comes back', async () => {
    const key = { id: 'key_a', budgetTokens: null, periodId: PERIOD };
    const r = (amount: number, now = T0) => res({ amount, now, key, windows: [tpm(250)] });
    const a = r(100);
    const b = r(100, T0 + 1000);
    expect(await store.reserve(a)).toMatchObject({ ok: true, left: 150 });
    expect(await store.reserve(b)).toMatchObject({ ok: true, left: 50 });
    expect(await store.reserve(r(100, T0 + 2000))).toEqual({
      ok: false, reason: 'rate_limit', scope: 'team', limit: 'tokens_per_minute', retryAfterMs: 58_000,
    });
    // a cost 20, not 100: 80 come back at once.
    await store.settle(done(a, 20, { now: T0 + 3000 }));
    expect(await store.reserve(r(100, T0 + 3000))).toMatchObject({ ok: true, left: 30 });
    expect(await store.room({ team: 'ml', budgetTokens: null, periodId: PERIOD, key, windows: [tpm(250)], now: T0 + 3000 })).toBe(30);
    // An estimate above the whole window never fits: a minute.
    expect(await store.reserve(r(300, T0 + 4000))).toMatchObject({ ok: false, reason: 'rate_limit', retryAfterMs: 60_000 });
    // A minute after a, its 20 leave the window.
    expect(await store.room({ team: 'ml', budgetTokens: null, periodId: PERIOD, key, windows: [tpm(250)], now: T0 + 60_000 })).toBe(50);
  });

  it('a key budget inside the team budget: the tighter refuses, naming its scope; spend is counted per key', async () => {
    const key = (id: string, budgetTokens: number | null) => ({ id, budgetTokens, periodId: PERIOD });
    const a = res({ amount: 300, key: key('key_a', 500) });
    expect(await store.reserve(a)).toMatchObject({ ok: true, left: 200 });
    expect(await store.reserve(res({ amount: 300, key: key('key_a', 500) }))).toEqual({
      ok: false, reason: 'budget', scope: 'key', spent: 0, reserved: 300,
    });
    await store.settle(done(a, 250));
    // What the key spent in its period (its budget alerts read it): nothing in another period or for another key.
    expect(await store.keySpent('ml', 'key_a', PERIOD)).toBe(250);
    expect(await store.keySpent('ml', 'key_a', 'month:2026-02')).toBe(0);
    expect(await store.keySpent('ml', 'key_b', PERIOD)).toBe(0);
    expect(await store.reserve(res({ amount: 250, key: key('key_a', 500) }))).toMatchObject({ ok: true, spent: 250, left: 0 });
    // Another key of the team has its own budget but shares the team's: 1000 - 250 - 250 = 500 left.
    expect(await store.reserve(res({ amount: 600, key: key('key_b', 800) }))).toEqual({
      ok: false, reason: 'budget', scope: 'team', spent: 250, reserved: 250,
    });
    expect(await store.reserve(res({ amount: 500, key: key('key_b', null) }))).toMatchObject({ ok: true, left: 0 });
    // A key's spend starts from zero in a new period of its own budget.
    const next = res({ amount: 250, key: { id: 'key_a', budgetTokens: 500, periodId: 'month:2026-02' }, budgetTokens: null });
    expect(await store.reserve(next)).toMatchObject({ ok: true, left: 0 });
    const rows = await store.ledger('2026-01-15', '2026-01-15');
    expect(rows.map((row) => [row.key, row.requests, row.tokens_spent, row.rejections])).toEqual([
      ['key_a', 2, 250, 1],
      ['key_b', 1, 0, 1],
    ]);
  });

  it('a key budget lets exactly 5 of 50 concurrent reserves through on two connections', async () => {
    const other = await reopen(conn);
    extra.push(other);
    const stores = [store, storeOf(other)];
    const key = { id: 'key_a', budgetTokens: 500, periodId: PERIOD };
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, n) => stores[n % 2].reserve(res({ key, windows: [tpm(10_000), rpm(1000, 'key')] }))),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.filter((r) => !r.ok && r.reason === 'budget' && r.scope === 'key')).toHaveLength(45);
    expect(await usage()).toMatchObject({ reserved: 500, outstanding: 5 });
  });

  it('a key budget frees the reservations whose lease ended', async () => {
    const key = { id: 'key_a', budgetTokens: 100, periodId: PERIOD };
    await store.reserve(res({ key }));
    expect(await store.reserve(res({ key, now: T0 + LEASE - 1 }))).toMatchObject({ ok: false, scope: 'key' });
    expect(await store.reserve(res({ key, now: T0 + LEASE }))).toMatchObject({ ok: true });
  });

  it('tokens per minute holds under concurrency on two connections', async () => {
    const other = await reopen(conn);
    extra.push(other);
    const stores = [store, storeOf(other)];
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, n) => stores[n % 2].reserve(res({ amount: 10, budgetTokens: null, windows: [tpm(75)] }))),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(7);
    expect(results.filter((r) => !r.ok && r.reason === 'rate_limit')).toHaveLength(33);
  });

  it('refunds an estimate above the actual cost', async () => {
    const r = res({ amount: 500 });
    await store.reserve(r);
    await store.settle(done(r, 200));
    expect(await usage()).toEqual({ spent: 200, reserved: 0, outstanding: 0 });
    expect(await store.reserve(res({ amount: 800 }))).toMatchObject({ ok: true, spent: 200, reserved: 800 });
  });

  it('records an actual cost above the estimate and the next reserve sees it', async () => {
    const r = res({ amount: 100 });
    await store.reserve(r);
    await store.settle(done(r, 700));
    expect(await store.reserve(res({ amount: 400 }))).toEqual({ ok: false, reason: 'budget', scope: 'team', spent: 700, reserved: 0 });
    expect(await store.reserve(res({ amount: 300 }))).toMatchObject({ ok: true, spent: 700, reserved: 300 });
    expect((await store.ledger('2026-01-15', '2026-01-15'))[0]).toMatchObject({ tokens_spent: 700 });
  });

  it('writes ledger rows per day, team and model, and filters by date range', async () => {
    const day1 = '2026-01-14';
    const day2 = '2026-01-15';
    const a = res({ day: day1 });
    const b = res({ day: day1, model: 'veo' });
    const c = res({ day: day2, team: 'art' });
    for (const r of [a, b, c]) await store.reserve(r);
    await store.settle(done(a, 90));
    await store.settle(done(b, 0, { outcome: 'failed' }));
    await store.settle(done(c, 0, { outcome: 'error' }));
    await store.markUnknown({ team: 'ml', key: '', model: 'flux', day: day1 });
    await store.countRejection({ team: 'art', key: '', model: 'flux', day: day2 });
    await store.reserve(res({ team: 'art', amount: 5000, day: day2 }));
    await store.addSavings([
      { team: 'ml', key: '', model: 'flux', day: day1, hits: 3, coalesced: 2, tokens_saved: 450, writer: 'w', seq: 1 },
      { team: 'ml', key: '', model: 'flux', day: '2026-01-16', hits: 1, coalesced: 0, tokens_saved: 90, writer: 'w', seq: 1 },
    ]);
    const rows = [
      { ...zero, day: day1, team: 'ml', model: 'flux', requests: 7, tokens_spent: 90, tokens_saved: 450, hits: 3, coalesced: 2, outcome_unknown: 1 },
      { ...zero, day: day1, team: 'ml', model: 'veo', requests: 1, failures: 1 },
      { ...zero, day: day2, team: 'art', model: 'flux', requests: 3, rejections: 2, failures: 1 },
      { ...zero, day: '2026-01-16', team: 'ml', model: 'flux', requests: 1, tokens_saved: 90, hits: 1 },
    ];
    expect(await store.ledger('2026-01-01', '2026-01-31')).toEqual(rows);
    expect(await store.ledger(day2, day2)).toEqual([rows[2]]);
    expect(await store.ledger('2026-01-15', '2026-01-16')).toEqual(rows.slice(2));
    expect(await store.ledger('2026-02-01', '2026-02-28')).toEqual([]);
  });

  it('counts outstanding reservations across teams, excluding ended leases', async () => {
    expect(await store.outstanding(T0)).toBe(0);
    const a = res();
    await store.reserve(a);
    await store.reserve(res({ leaseMs: 5 * LEASE }));
    await store.reserve(res({ team: 'art' }));
    expect(await store.outstanding(T0)).toBe(3);
    await store.settle(done(a, 100));
    expect(await store.outstanding(T0)).toBe(2);
    expect(await store.outstanding(T0 + LEASE)).toBe(1);
  });

  it('treats a repeated reserve of the same id as one reservation', async () => {
    const r = res({ amount: 400 });
    await store.reserve(r);
    expect(await store.reserve(r)).toMatchObject({ ok: true, spent: 0, reserved: 400 });
    expect(await usage()).toEqual({ spent: 0, reserved: 400, outstanding: 1 });
  });
});

describe('Redis QuotaStore with useRedisTime', () => {
  it('takes now from Redis TIME, not from the caller', async () => {
    const conn = await backends.find((b) => b.name === 'redis')!.open();
    try {
      if (conn.kind !== 'redis') throw new Error('expected a Redis connection');
      const redisTimed = createRedisQuotaStore(conn, { useRedisTime: true });
      // Were `now: 0` used, the lease would have ended long before Date.now().
      await redisTimed.reserve(res({ now: 0 }));
      const callerTimed = createRedisQuotaStore(conn);
      expect(await callerTimed.usage('ml', PERIOD, Date.now())).toMatchObject({ reserved: 100, outstanding: 1 });
      expect(await redisTimed.outstanding(0)).toBe(1);
    } finally {
      await cleanup(conn);
    }
  });
});
