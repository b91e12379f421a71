// AdminTokenStore on SQLite: one row per token; a partial unique index keeps active names unique.
import type { SqliteConnection } from '../store/connection.js';
import type { AdminTokenRecord, AdminTokenStore } from './token-store.js';

export function createSqliteTokenStore(conn: SqliteConnection): AdminTokenStore {
  const { db } = conn;
  db.exec(`
    CREATE TABLE IF NOT EXISTS admin_tokens (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
      created_at TEXT NOT NULL, revoked_at TEXT);
    CREATE UNIQUE INDEX IF NOT EXISTS admin_tokens_active_name ON admin_tokens(name) WHERE revoked_at IS NULL;
  `);
  const q = {
    insert: db.prepare(
      `INSERT OR IGNORE INTO admin_tokens (id, name, role, hash, created_at, revoked_at)
       VALUES (@id, @name, @role, @hash, @created_at, @revoked_at)`,
    ),
    byHash: db.prepare(`SELECT * FROM admin_tokens WHERE hash = ?`),
    byId: db.prepare(`SELECT * FROM admin_tokens WHERE id = ?`),
    list: db.prepare(`SELECT * FROM admin_tokens ORDER BY created_at, id`),
    revoke: db.prepare(`UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`),
  };
  const row = (value: unknown) => (value as AdminTokenRecord | undefined) ?? null;
  return {
    insert: async (token) => q.insert.run(token).changes > 0,
    findByHash: async (hash) => row(q.byHash.get(hash)),
    get: async (id) => row(q.byId.get(id)),
    list: async () => q.list.all() as AdminTokenRecord[],
    async revoke(id, at) {
      q.revoke.run(at, id);
      return row(q.byId.get(id));
    },
  };
}
