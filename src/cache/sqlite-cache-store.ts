// The cache's L2 on SQLite (one instance): a table of opaque values with expires_at, read
// with the caller's clock and pruned of expired rows now and then by the writer, so the file
// does not grow with entries nobody can read any more.
import type { SqliteConnection } from '../store/connection.js';
import type { CacheStore } from './cache-store.js';

const PRUNE_EVERY_MS = 10 * 60_000;

export function createSqliteCacheStore(conn: SqliteConnection): CacheStore {
  const { db } = conn;
  db.exec(`CREATE TABLE IF NOT EXISTS cache_entries (
    key TEXT PRIMARY KEY, value BLOB NOT NULL, expires_at INTEGER NOT NULL)`);
  db.exec(`CREATE INDEX IF NOT EXISTS cache_entries_expires ON cache_entries (expires_at)`);
  const q = {
    get: db.prepare(`SELECT value FROM cache_entries WHERE key = ? AND expires_at > ?`).pluck(),
    set: db.prepare(`INSERT OR REPLACE INTO cache_entries (key, value, expires_at) VALUES (?, ?, ?)`),
    delete: db.prepare(`DELETE FROM cache_entries WHERE key = ?`),
    prune: db.prepare(`DELETE FROM cache_entries WHERE expires_at <= ?`),
  };
  let lastPrune = -Infinity;
  const prune = (now: number) => {
    lastPrune = now;
    return q.prune.run(now).changes;
  };
  return {
    async get(key, now) {
      const value = q.get.get(key, now);
      return Buffer.isBuffer(value) ? value : null;
    },
    // Writes commit with the other writes of their event-loop turn (src/store/sqlite-write-queue.ts).
    set: (key, value, expiresAt, now) =>
      conn.writes.run(() => {
        if (now - lastPrune > PRUNE_EVERY_MS) prune(now);
        if (expiresAt <= now) q.delete.run(key);
        else q.set.run(key, value, expiresAt);
      }),
    delete: (key) => conn.writes.run(() => void q.delete.run(key)),
    prune: async (now) => prune(now),
  };
}
