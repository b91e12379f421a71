// TeamStore on Redis: hashes of JSON documents (teams, keys by id, key ids by hash) and a
// version counter; multi-key changes run in MULTI so replicas never see half a change. All
// four keys share the `{registry}` hash tag, so a MULTI stays on one slot of a Cluster. Each
// change waits for `store.redis_wait_replicas` Redis replicas (WAIT) before it is answered.
import type { RedisConnection } from '../store/connection.js';
import type { ApiKeyRecord, Team, TeamStore } from './team-store.js';

const NAMES = { teams: 'teams', keys: 'keys', byHash: 'keys:by-hash', version: 'registry:version' } as const;

/** Renames keys written before the hash tag (one Redis or Sentinel only: a Cluster never had them). */
const MIGRATE = `for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('EXISTS', KEYS[i + 1]) == 0 then redis.call('RENAME', KEYS[i], KEYS[i + 1]) end
end return 1`;

/** Replaces a key's document while it is not revoked (KEYS: keys, version; ARGV: id, new). */
const UPDATE_ACTIVE_KEY = `local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local revoked = cjson.decode(raw).revoked_at
if revoked and revoked ~= cjson.null then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCR', KEYS[2])
return 1`;

export function createRedisTeamStore(conn: RedisConnection): TeamStore {
  const { redis, prefix } = conn;
  const k = {
    teams: `${prefix}{registry}:${NAMES.teams}`,
    keys: `${prefix}{registry}:${NAMES.keys}`,
    byHash: `${prefix}{registry}:${NAMES.byHash}`,
    version: `${prefix}{registry}:${NAMES.version}`,
  };
  if (conn.shape !== 'cluster') {
    const pairs = (Object.keys(NAMES) as (keyof typeof NAMES)[]).flatMap((name) => [`${prefix}${NAMES[name]}`, k[name]]);
    // Sent before any other command of this store on this connection, which keeps their order:
    // every read sees the renamed keys. A failure leaves the old keys for the next start.
    redis.eval(MIGRATE, pairs.length, ...pairs).catch(() => {});
  }
  const parse = <T>(raw: string | null): T | null => (raw ? (JSON.parse(raw) as T) : null);
  const allKeys = async (): Promise<ApiKeyRecord[]> =>
    Object.values(await redis.hgetall(k.keys)).map((raw) => JSON.parse(raw) as ApiKeyRecord);

  return {
    async createTeam(team) {
      const created = await redis.hsetnx(k.teams, team.name, JSON.stringify(team));
      if (created) await redis.incr(k.version);
      await conn.waitReplicas();
      return created === 1;
    },
    getTeam: async (name) => parse<Team>(await redis.hget(k.teams, name)),
    async listTeams() {
      const teams = Object.values(await redis.hgetall(k.teams)).map((raw) => JSON.parse(raw) as Team);
      return teams.sort((a, b) => a.name.localeCompare(b.name));
    },
    async putTeam(team) {
      await redis.multi().hset(k.teams, team.name, JSON.stringify(team)).incr(k.version).exec();
      await conn.waitReplicas();
    },
    async deleteTeam(name, at) {
      const removed = await redis.hdel(k.teams, name);
      if (!removed) return false;
      const tx = redis.multi();
      for (const key of await allKeys()) {
        if (key.team === name && !key.revoked_at) tx.hset(k.keys, key.id, JSON.stringify({ ...key, revoked_at: at }));
      }
      await tx.incr(k.version).exec();
      await conn.waitReplicas();
      return true;
    },
    async insertKey(key) {
      await redis
        .multi()
        .hset(k.keys, key.id, JSON.stringify(key))
        .hset(k.byHash, key.hash, key.id)
        .incr(k.version)
        .exec();
      await conn.waitReplicas();
    },
    getKey: async (id) => parse<ApiKeyRecord>(await redis.hget(k.keys, id)),
    async findKeyByHash(hash) {
      const id = await redis.hget(k.byHash, hash);
      return id ? parse<ApiKeyRecord>(await redis.hget(k.keys, id)) : null;
    },
    async listKeys(team) {
      const keys = (await allKeys()).filter((key) => !team || key.team === team);
      return keys.sort((a, b) => a.team.localeCompare(b.team) || a.id.localeCompare(b.id));
    },
    async revokeKey(id, at) {
      const key = parse<ApiKeyRecord>(await redis.hget(k.keys, id));
      if (!key || key.revoked_at) return false;
      // Of two concurrent revocations (or rotations) of a key, one writes: the other finds it revoked.
      if (!(await redis.eval(UPDATE_ACTIVE_KEY, 2, k.keys, k.version, id, JSON.stringify({ ...key, revoked_at: at })))) return false;
      await conn.waitReplicas();
      return true;
    },
    async updateKey(key) {
      // Only while the key is active: a rotation that revoked it meanwhile wins (see revokeKey).
      if (!(await redis.eval(UPDATE_ACTIVE_KEY, 2, k.keys, k.version, key.id, JSON.stringify(key)))) return false;
      await conn.waitReplicas();
      return true;
    },
    version: async () => Number((await redis.get(k.version)) ?? 0),
  };
}
