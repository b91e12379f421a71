// Who may poll which generation: the team that started it, and any team the cache or a
// coalesced answer handed it to. GET /api/v2/generate/:id answers 404 to everyone else, so a
// team can never read another team's prompts or results by guessing ids.
import type { StoreConnection } from '../store/connection.js';

export interface GrantStore {
  grant(generationId: string, team: string, now: number): Promise<void>;
  isGranted(generationId: string, team: string, now: number): Promise<boolean>;
}

/** Grants are kept this long: longer than any job runs or any client polls. */
const GRANT_TTL_MS = 30 * 24 * 3600 * 1000;

export function createGrantStore(conn: StoreConnection): GrantStore {
  if (conn.kind === 'redis') {
    const { redis, prefix } = conn;
    const key = (id: string) => `${prefix}gen:${id}:teams`;
    return {
      async grant(id, team) {
        await redis.multi().sadd(key(id), team).pexpire(key(id), GRANT_TTL_MS).exec();
      },
      isGranted: async (id, team) => (await redis.sismember(key(id), team)) === 1,
    };
  }
  const { db } = conn;
  db.exec(`CREATE TABLE IF NOT EXISTS generation_grants (
    generation_id TEXT NOT NULL, team TEXT NOT NULL, granted_at INTEGER NOT NULL,
    PRIMARY KEY (generation_id, team))`);
  const insert = db.prepare(`INSERT OR IGNORE INTO generation_grants VALUES (?, ?, ?)`);
  const check = db.prepare(`SELECT 1 FROM generation_grants WHERE generation_id = ? AND team = ? AND granted_at > ?`).pluck();
  const prune = db.prepare(`DELETE FROM generation_grants WHERE granted_at <= ?`);
  let lastPrune = 0;
  return {
    async grant(id, team, now) {
      insert.run(id, team, now);
      if (now - lastPrune > 3600_000) {
        lastPrune = now;
        prune.run(now - GRANT_TTL_MS);
      }
    },
    isGranted: async (id, team, now) => check.get(id, team, now - GRANT_TTL_MS) !== undefined,
  };
}
