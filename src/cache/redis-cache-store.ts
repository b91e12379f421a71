// The cache's L2 on Redis, shared by every replica: one binary string per key with PX, so
// Redis drops it in time on its own. The expiry instant is also kept in the value's first
// 8 bytes and checked against the caller's clock, so every replica judges expiry the same way.
import type { RedisConnection } from '../store/connection.js';
import type { CacheStore } from './cache-store.js';

const STAMP_BYTES = 8;

/**
 * The Redis key of a cache key's value. It carries no hash tag of its own: a key without braces
 * sits on the slot of its whole name, so the key's lock and live backlog take that name as
 * their tag (./redis-flight-coordinator.ts) and one script can read the value and take the lock.
 */
export const redisCacheKey = (prefix: string, key: string) => `${prefix}cache:${key}`;

/** The value as stored: the expiry instant (ms, big-endian double), then the bytes. */
export function stamped(value: Buffer, expiresAt: number): Buffer {
  const stamp = Buffer.allocUnsafe(STAMP_BYTES);
  stamp.writeDoubleBE(expiresAt, 0);
  return Buffer.concat([stamp, value]);
}

/** The bytes of a stored value, or null if absent or expired at `now`. */
export function unstamped(raw: Buffer | null, now: number): Buffer | null {
  if (!raw || raw.length < STAMP_BYTES) return null;
  if (raw.readDoubleBE(0) <= now) return null;
  return raw.subarray(STAMP_BYTES);
}

export function createRedisCacheStore(conn: RedisConnection): CacheStore {
  const { redis, prefix } = conn;
  const keyOf = (key: string) => redisCacheKey(prefix, key);
  return {
    async get(key, now) {
      return unstamped(await redis.getBuffer(keyOf(key)), now);
    },
    async set(key, value, expiresAt, now) {
      const ttl = Math.ceil(expiresAt - now);
      if (ttl <= 0) {
        await redis.del(keyOf(key));
        return;
      }
      await redis.set(keyOf(key), stamped(value, expiresAt), 'PX', ttl);
    },
    async delete(key) {
      await redis.del(keyOf(key));
    },
    prune: async () => 0,
  };
}
