// AuditStore on SQLite: an append-only table (a trigger refuses every UPDATE), written in its
// own transaction at once (not the group-commit queue), so an acknowledged change is logged.
import type { SqliteConnection } from '../store/connection.js';
import type { AuditEntry, AuditStore } from './audit-store.js';

export function createSqliteAuditStore(conn: SqliteConnection): AuditStore {
  const { db } = conn;
  db.exec(`
    CREATE TABLE IF NOT EXISTS audit_log (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, actor TEXT NOT NULL,
      action TEXT NOT NULL, entry TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log(at_ms);
    CREATE TRIGGER IF NOT EXISTS audit_log_append_only BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  `);
  const q = {
    append: db.prepare(`INSERT INTO audit_log (at_ms, actor, action, entry) VALUES (?, ?, ?, ?)`),
    query: db
      .prepare(
        `SELECT entry FROM audit_log WHERE at_ms BETWEEN @from AND @to
           AND (@actor IS NULL OR actor = @actor) AND (@action IS NULL OR action = @action) ORDER BY at_ms, seq`,
      )
      .pluck(),
    prune: db.prepare(`DELETE FROM audit_log WHERE at_ms < ?`),
  };
  return {
    async append(entry) {
      q.append.run(Date.parse(entry.at), entry.actor, entry.action, JSON.stringify(entry));
    },
    async query(filter) {
      const rows = q.query.all({ from: filter.fromMs, to: filter.toMs, actor: filter.actor ?? null, action: filter.action ?? null });
      return rows.map((row) => JSON.parse(row as string) as AuditEntry);
    },
    prune: async (beforeMs) => q.prune.run(beforeMs).changes,
  };
}
