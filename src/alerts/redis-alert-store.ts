// AlertStore on Redis: SET NX with an expiry on the event id.
import type { RedisConnection } from '../store/connection.js';
import type { AlertStore } from './alert-store.js';

export function createRedisAlertStore(conn: RedisConnection): AlertStore {
  const { redis, prefix } = conn;
  const key = (id: string) => `${prefix}alert:${id}`;
  return {
    claim: async (id, ttlMs) => (await redis.set(key(id), '1', 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK',
    release: async (id) => {
      await redis.del(key(id));
    },
  };
}
