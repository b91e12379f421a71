// AuditStore on Redis: one sorted set scored by time (ms); each member is the entry's JSON
// with a unique id, so identical changes in the same millisecond stay separate entries. An
// append waits for `store.redis_wait_replicas` replicas (WAIT) before the change is answered.
import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '../store/connection.js';
import type { AuditEntry, AuditStore } from './audit-store.js';

export function createRedisAuditStore(conn: RedisConnection): AuditStore {
  const { redis, prefix } = conn;
  const key = `${prefix}audit`;
  return {
    async append(entry) {
      await redis.zadd(key, Date.parse(entry.at), JSON.stringify({ id: randomUUID(), entry }));
      await conn.waitReplicas();
    },
    async query(filter) {
      const members = await redis.zrangebyscore(key, filter.fromMs, filter.toMs);
      return members
        .map((member) => (JSON.parse(member) as { entry: AuditEntry }).entry)
        .filter((e) => (!filter.actor || e.actor === filter.actor) && (!filter.action || e.action === filter.action));
    },
    prune: (beforeMs) => redis.zremrangebyscore(key, '-inf', `(${beforeMs}`),
  };
}
