// AdminTokenStore on Redis: a hash of JSON records by id, an index by token hash, and one by
// active name (HSETNX claims a name, so two replicas cannot create the same name at once).
// The three keys share the `{admin-tokens}` hash tag (a MULTI stays on one Cluster slot); each
// change waits for `store.redis_wait_replicas` replicas (WAIT), like the team registry.
import type { RedisConnection } from '../store/connection.js';
import type { AdminTokenRecord, AdminTokenStore } from './token-store.js';

export function createRedisTokenStore(conn: RedisConnection): AdminTokenStore {
  const { redis, prefix } = conn;
  const k = {
    tokens: `${prefix}{admin-tokens}:all`,
    byHash: `${prefix}{admin-tokens}:by-hash`,
    byName: `${prefix}{admin-tokens}:by-name`,
  };
  const parse = (raw: string | null): AdminTokenRecord | null => (raw ? (JSON.parse(raw) as AdminTokenRecord) : null);
  return {
    async insert(token) {
      if (!(await redis.hsetnx(k.byName, token.name, token.id))) return false;
      await redis.multi().hset(k.tokens, token.id, JSON.stringify(token)).hset(k.byHash, token.hash, token.id).exec();
      await conn.waitReplicas();
      return true;
    },
    async findByHash(hash) {
      const id = await redis.hget(k.byHash, hash);
      return id ? parse(await redis.hget(k.tokens, id)) : null;
    },
    get: async (id) => parse(await redis.hget(k.tokens, id)),
    async list() {
      const all = Object.values(await redis.hgetall(k.tokens)).map((raw) => JSON.parse(raw) as AdminTokenRecord);
      return all.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
    },
    async revoke(id, at) {
      const token = parse(await redis.hget(k.tokens, id));
      if (!token || token.revoked_at) return token;
      const revoked = { ...token, revoked_at: at };
      await redis.multi().hset(k.tokens, id, JSON.stringify(revoked)).hdel(k.byName, token.name).exec();
      await conn.waitReplicas();
      return revoked;
    },
  };
}
