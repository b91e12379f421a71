// The cache's L2 on Redis, shared by every replica: one binary string per key with PX, so
// Redis drops it in time on its own. The expiry instant is also kept in the value's first
// 8 bytes and checked against the caller's clock, so every replica judges expiry the same way.
import type { RedisConnection } from '../store/connection.js';
import type { CacheStore } from './cache-store.js';

const STAMP_BYTES = 8;

export function createRedisCacheStore(conn: RedisConnection): CacheStore {
  const { redis, prefix } = conn;
  const keyOf = (key: string) => `${prefix}cache:${key}`;
  return {
    async get(key, now) {
      const raw = await redis.getBuffer(keyOf(key));
      if (!raw || raw.length < STAMP_BYTES) return null;
      if (raw.readDoubleBE(0) <= now) return null;
      return raw.subarray(STAMP_BYTES);
    },
    async set(key, value, expiresAt, now) {
      const ttl = Math.ceil(expiresAt - now);
      if (ttl <= 0) {
        await redis.del(keyOf(key));
        return;
      }
      const stamp = Buffer.allocUnsafe(STAMP_BYTES);
      stamp.writeDoubleBE(expiresAt, 0);
      await redis.set(keyOf(key), Buffer.concat([stamp, value]), 'PX', ttl);
    },
    async delete(key) {
      await redis.del(keyOf(key));
    },
    prune: async () => 0,
  };
}
