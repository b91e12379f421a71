// AlertStore on SQLite: INSERT OR IGNORE on the event id, after removing its expired claim.
import type { SqliteConnection } from '../store/connection.js';
import type { AlertStore } from './alert-store.js';

export function createSqliteAlertStore(conn: SqliteConnection): AlertStore {
  const { db } = conn;
  db.exec(`CREATE TABLE IF NOT EXISTS alert_claims (id TEXT PRIMARY KEY, expires_ms INTEGER NOT NULL)`);
  const q = {
    expire: db.prepare(`DELETE FROM alert_claims WHERE id = ? AND expires_ms <= ?`),
    claim: db.prepare(`INSERT OR IGNORE INTO alert_claims (id, expires_ms) VALUES (?, ?)`),
    release: db.prepare(`DELETE FROM alert_claims WHERE id = ?`),
  };
  const claim = db.transaction((id: string, ttlMs: number, now: number) => {
    q.expire.run(id, now);
    return q.claim.run(id, now + ttlMs).changes > 0;
  });
  return {
    claim: async (id, ttlMs, now) => claim(id, ttlMs, now),
    release: async (id) => {
      q.release.run(id);
    },
  };
}
