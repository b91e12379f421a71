// The AccountStore conformance suite: holds against the floor, settlements lowering the
// balance, upstream readings with their mark, leases and 402s; in memory (the SQLite backend's
// one instance) and on every Redis shape. Time is the `now` each call passes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryAccountStore, type AccountStore } from '../../src/quota/account-store.js';
import { createRedisAccountStore } from '../../src/quota/redis-account-store.js';
import type { StoreConnection } from '../../src/store/connection.js';
import { cleanup, reopen, storeBackends } from '../helpers/backends.js';

const T0 = Date.UTC(2026, 0, 15, 12);
const LEASE = 60_000;

describe.each(storeBackends)('AccountStore on $name', (backend) => {
  let conn: StoreConnection;
  let store: AccountStore;
  beforeEach(async () => {
    conn = await backend.open();
    store = conn.kind === 'sqlite' ? createMemoryAccountStore() : createRedisAccountStore(conn);
  });
  afterEach(async () => cleanup(conn));

  it('checks nothing before the first reading', async () => {
    expect(await store.reserve('r1', 1e9, 10, LEASE, T0)).toEqual({ ok: true });
  });

  it('holds requests until the next one would go under the floor', async () => {
    await store.observe(110, await store.mark());
    for (let n = 0; n < 5; n++) expect(await store.reserve(`r${n}`, 2, 100, LEASE, T0)).toEqual({ ok: true });
    expect(await store.reserve('r5', 2, 100, LEASE, T0)).toEqual({ ok: false, spendable: 0 });
    // A settlement below its hold gives the difference back.
    await store.settle('r0', 1, T0);
    expect(await store.reserve('r6', 2, 100, LEASE, T0)).toEqual({ ok: false, spendable: 1 });
    expect(await store.reserve('r7', 1, 100, LEASE, T0)).toEqual({ ok: true });
  });

  it('subtracts settlements after the mark from a reading, and ignores an older reading', async () => {
    const old = await store.mark();
    await store.observe(100, old);
    await store.settle('a', 30, T0); // charged upstream, maybe not in the next reading
    const mark = await store.mark();
    await store.settle('b', 20, T0); // settled while the reading was in flight
    await store.observe(80, mark); // upstream saw a, maybe not b: 80 - 20 counted
    expect(await store.reserve('r1', 61, 0, LEASE, T0)).toEqual({ ok: false, spendable: 60 });
    await store.observe(1_000, old); // a stale reading does not raise it
    expect(await store.reserve('r2', 61, 0, LEASE, T0)).toEqual({ ok: false, spendable: 60 });
  });

  it('frees a hold when its lease runs out, unless extended', async () => {
    await store.observe(10, await store.mark());
    await store.reserve('short', 5, 0, LEASE, T0);
    await store.reserve('long', 5, 0, LEASE, T0);
    await store.extend('long', 10 * LEASE, T0 + 1);
    expect(await store.reserve('r', 5, 0, LEASE, T0 + LEASE - 1)).toEqual({ ok: false, spendable: 0 });
    expect(await store.reserve('r', 5, 0, LEASE, T0 + LEASE)).toEqual({ ok: true });
  });

  it('counts every hold until it is settled or its own lease ends, whatever the order', async () => {
    // Holds with staggered leases, some extended, some settled, the clock moving on: the room a
    // probe reads (a reserve too big to hold) always equals the balance less the live holds.
    await store.observe(1_000_000, await store.mark());
    const model = new Map<string, { amount: number; until: number }>();
    let now = T0;
    let seed = 7;
    const next = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
    for (let step = 0; step < 300; step++) {
      const id = `h${step}`;
      const amount = 1 + Math.floor(next() * 50);
      const lease = 1 + Math.floor(next() * 3 * LEASE);
      await store.reserve(id, amount, 0, lease, now);
      model.set(id, { amount, until: now + lease });
      const other = `h${Math.floor(next() * (step + 1))}`;
      const roll = next();
      if (roll < 0.2) {
        await store.settle(other, 0, now);
        model.delete(other);
      } else if (roll < 0.3) {
        await store.extend(other, 2 * LEASE, now);
        const hold = model.get(other);
        if (hold && hold.until > now) hold.until = Math.max(hold.until, now + 2 * LEASE);
      }
      now += Math.floor(next() * LEASE / 4);
      const live = [...model.values()].filter((h) => h.until > now).reduce((sum, h) => sum + h.amount, 0);
      expect(await store.reserve('probe', 1e12, 0, LEASE, now)).toEqual({ ok: false, spendable: 1_000_000 - live });
    }
  });

  it('stops everything after a 402 until the next reading', async () => {
    await store.observe(1_000, await store.mark());
    await store.exhausted();
    expect(await store.reserve('r', 1, 0, LEASE, T0)).toEqual({ ok: false, spendable: 0 });
    await store.observe(50, await store.mark());
    expect(await store.reserve('r', 1, 0, LEASE, T0)).toEqual({ ok: true });
  });

});

describe.each(storeBackends.filter((b) => b.name !== 'sqlite'))('AccountStore shared by replicas on $name', (backend) => {
  it('is one account for every replica', async () => {
    const conn = await backend.open();
    const other = await reopen(conn);
    try {
      if (conn.kind !== 'redis' || other.kind !== 'redis') throw new Error('expected Redis connections');
      const [store, replica] = [createRedisAccountStore(conn), createRedisAccountStore(other)];
      await store.observe(4, await store.mark());
      const holds = await Promise.all(Array.from({ length: 10 }, (_, n) => (n % 2 ? store : replica).reserve(`r${n}`, 1, 0, LEASE, T0)));
      expect(holds.filter((h) => h.ok)).toHaveLength(4);
    } finally {
      await other.close();
      await cleanup(conn);
    }
  });
});
