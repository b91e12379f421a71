// Who may poll which generation: the team that started it, and any team the cache or a
// coalesced answer handed it to. GET /api/v2/generate/:id answers 404 to everyone else, so a
// team can never read another team's prompts or results by guessing ids.
import type { Database } from 'better-sqlite3';
import type { RedisClient, StoreConnection } from '../store/connection.js';

export interface GrantStore {
  /** With `shared`, the team was handed another team's generation (its polls then read tokens_spent 0, like a hit). */
  grant(generationId: string, team: string, now: number, shared?: boolean): Promise<void>;
  isGranted(generationId: string, team: string, now: number): Promise<boolean>;
  isShared(generationId: string, team: string): Promise<boolean>;
}

/** Grants are kept this long: longer than any job runs or any client polls. */
const GRANT_TTL_MS = 30 * 24 * 3600 * 1000;

const redisKey = (prefix: string, id: string) => `${prefix}gen:${id}:teams`;
const sharedKey = (prefix: string, id: string) => `${prefix}gen:${id}:shared`;

/**
 * Sends a grant's commands; the quota store sends them with a settlement, in the same round
 * trip (auto-pipelining). One connection keeps their order: the expiry follows the add.
 */
export function sendRedisGrant(redis: RedisClient, prefix: string, id: string, team: string): Promise<unknown>[] {
  return [redis.sadd(redisKey(prefix, id), team), redis.pexpire(redisKey(prefix, id), GRANT_TTL_MS)];
}

/** Writes grants into the SQLite file; the quota store calls it inside a settlement's transaction. */
export function sqliteGrantWriter(db: Database): (id: string, team: string, now: number) => void {
  // The age index is appended to in time order (cheap), and makes the hourly prune a range delete instead of a full scan.
  db.exec(`CREATE TABLE IF NOT EXISTS generation_grants (
    generation_id TEXT NOT NULL, team TEXT NOT NULL, granted_at INTEGER NOT NULL,
    PRIMARY KEY (generation_id, team));
    CREATE INDEX IF NOT EXISTS generation_grants_age ON generation_grants (granted_at)`);
  const insert = db.prepare(`INSERT OR IGNORE INTO generation_grants VALUES (?, ?, ?)`);
  const prune = db.prepare(`DELETE FROM generation_grants WHERE granted_at <= ?`);
  let lastPrune = 0;
  return (id, team, now) => {
    insert.run(id, team, now);
    if (now - lastPrune > 3600_000) {
      lastPrune = now;
      prune.run(now - GRANT_TTL_MS);
    }
  };
}

export function createGrantStore(conn: StoreConnection): GrantStore {
  if (conn.kind === 'redis') {
    const { redis, prefix } = conn;
    return {
      async grant(id, team, _now, shared) {
        const tx = redis.multi().sadd(redisKey(prefix, id), team).pexpire(redisKey(prefix, id), GRANT_TTL_MS);
        if (shared) tx.sadd(sharedKey(prefix, id), team).pexpire(sharedKey(prefix, id), GRANT_TTL_MS);
        await tx.exec();
      },
      isGranted: async (id, team) => (await redis.sismember(redisKey(prefix, id), team)) === 1,
      isShared: async (id, team) => (await redis.sismember(sharedKey(prefix, id), team)) === 1,
    };
  }
  const { db } = conn;
  const write = sqliteGrantWriter(db);
  const check = db.prepare(`SELECT 1 FROM generation_grants WHERE generation_id = ? AND team = ? AND granted_at > ?`).pluck();
  db.exec(`CREATE TABLE IF NOT EXISTS generation_shares (generation_id TEXT NOT NULL, team TEXT NOT NULL, PRIMARY KEY (generation_id, team))`);
  const share = db.prepare(`INSERT OR IGNORE INTO generation_shares VALUES (?, ?)`);
  const isShared = db.prepare(`SELECT 1 FROM generation_shares WHERE generation_id = ? AND team = ?`).pluck();
  return {
    grant: (id, team, now, shared) =>
      conn.writes.run(() => {
        write(id, team, now);
        if (shared) share.run(id, team);
      }),
    isGranted: async (id, team, now) => check.get(id, team, now - GRANT_TTL_MS) !== undefined,
    isShared: async (id, team) => isShared.get(id, team) !== undefined,
  };
}
