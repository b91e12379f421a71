// The cross-replica flight's atomic steps on every Redis shape (one server, Sentinel, Cluster):
// one look reads a key's stored answer or takes its lock, one release stores the answer and
// lets the lock go; a value the cache store wrote (under the name earlier versions used) is
// found by the look. Expiry follows the `now` each call passes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRedisCacheStore } from '../../src/cache/redis-cache-store.js';
import { createRedisFlightCoordinator, redisLockKey, type FlightCoordinator } from '../../src/cache/redis-flight-coordinator.js';
import type { CacheStore } from '../../src/cache/cache-store.js';
import type { RedisConnection } from '../../src/store/connection.js';
import { cleanup, storeBackends } from '../helpers/backends.js';

const T0 = Date.UTC(2026, 0, 15, 12);
const LOCK_MS = 10_000;

describe.each(storeBackends.filter((b) => b.name !== 'sqlite'))('the flight coordinator on $name', (backend) => {
  let conn: RedisConnection;
  let coordinator: FlightCoordinator;
  let store: CacheStore;
  beforeEach(async () => {
    conn = (await backend.open()) as RedisConnection;
    coordinator = createRedisFlightCoordinator(conn);
    store = createRedisCacheStore(conn);
  });
  afterEach(async () => {
    await coordinator.close();
    await cleanup(conn);
  });

  it('a look at an unknown key takes its lock; a second owner finds it busy', async () => {
    expect(await coordinator.readOrLead('k1', 'a', LOCK_MS, T0)).toEqual({ led: true });
    expect(await coordinator.readOrLead('k1', 'b', LOCK_MS, T0)).toEqual({ led: false });
    expect(await conn.redis.get(redisLockKey(conn.prefix, 'k1'))).toBe('a');
  });

  it('a release with the answer stores it and frees the lock in one step: the next look reads it, locking nothing', async () => {
    const value = Buffer.from([0, 1, 2, 10, 13, 255, 0x7b]);
    expect(await coordinator.readOrLead('k2', 'a', LOCK_MS, T0)).toEqual({ led: true });
    await coordinator.release('k2', 'a', { value, expiresAt: T0 + 60_000, now: T0 });
    expect(await conn.redis.exists(redisLockKey(conn.prefix, 'k2'))).toBe(0);
    expect(await coordinator.readOrLead('k2', 'b', LOCK_MS, T0)).toEqual({ value });
    expect(await conn.redis.exists(redisLockKey(conn.prefix, 'k2'))).toBe(0);
    expect(await store.get('k2', T0)).toEqual(value); // the cache store reads what the release stored
  });

  it("a release does not free another owner's lock, but still stores the answer and announces", async () => {
    await coordinator.ready(5_000);
    expect(await coordinator.readOrLead('k3', 'a', LOCK_MS, T0)).toEqual({ led: true });
    await conn.redis.set(redisLockKey(conn.prefix, 'k3'), 'b', 'PX', LOCK_MS); // a follower took over
    const { done } = coordinator.listen('k3');
    await coordinator.release('k3', 'a', { value: Buffer.from('v'), expiresAt: T0 + 60_000, now: T0 });
    await done;
    expect(await conn.redis.get(redisLockKey(conn.prefix, 'k3'))).toBe('b');
    expect((await store.get('k3', T0))?.toString()).toBe('v');
  });

  it('finds a value the cache store wrote, and takes the lock once it expired by the clock it is given', async () => {
    await store.set('k4', Buffer.from('stored'), T0 + 1_000, T0);
    expect(await coordinator.readOrLead('k4', 'a', LOCK_MS, T0 + 999)).toEqual({ value: Buffer.from('stored') });
    expect(await coordinator.readOrLead('k4', 'a', LOCK_MS, T0 + 1_000)).toEqual({ led: true });
  });
});
