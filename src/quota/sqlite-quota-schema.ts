// The SQLite quota store's tables (team state, held and settled reservations, key spend) and
// the migrations of files written by earlier versions. The ledger's table is in
// ../ledger/sqlite-ledger.ts, the rate windows' in ./sqlite-rate-windows.ts.
import type { Database } from 'better-sqlite3';

/**
 * Held reservations live in `held_reservations` (few rows: requests in flight, pending jobs);
 * a sweep deletes the ones whose lease ran out, releasing their tokens. Settling deletes the
 * held row and appends the id to `settled_reservations` (append-only, in `seq` order, so it is
 * pruned from its oldest end without an index on time). An id in neither table (never held, or
 * its lease ran out) is charged when settled, and then recorded as settled too.
 */
export function createQuotaSchema(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS quota_state (
      team TEXT PRIMARY KEY, period_id TEXT NOT NULL, spent NUMERIC NOT NULL, reserved NUMERIC NOT NULL);
    CREATE TABLE IF NOT EXISTS held_reservations (
      team TEXT NOT NULL, id TEXT NOT NULL, amount NUMERIC NOT NULL, expires_at INTEGER NOT NULL,
      PRIMARY KEY (team, id)) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS held_reservations_lease ON held_reservations(team, expires_at);
    CREATE TABLE IF NOT EXISTS settled_reservations (
      seq INTEGER PRIMARY KEY, team TEXT NOT NULL, id TEXT NOT NULL, settled_at INTEGER NOT NULL, UNIQUE (team, id));
    CREATE TABLE IF NOT EXISTS key_quota_state (
      key_id TEXT PRIMARY KEY, period_id TEXT NOT NULL, spent NUMERIC NOT NULL);
  `);
  const heldColumns = (db.prepare(`PRAGMA table_info(held_reservations)`).all() as { name: string }[]).map((c) => c.name);
  if (!heldColumns.includes('key_id')) db.exec(`ALTER TABLE held_reservations ADD COLUMN key_id TEXT`);
  // When it was counted in its rate windows, so settlement corrects the bucket that holds its estimate.
  if (!heldColumns.includes('counted_at')) db.exec(`ALTER TABLE held_reservations ADD COLUMN counted_at INTEGER`);
  // A key's held tokens (a reserve against a key budget) read from this index, not from a walk
  // over every hold of its team: pending jobs can keep thousands (1000 holds: 117 µs -> 6 µs).
  db.exec(`CREATE INDEX IF NOT EXISTS held_reservations_key ON held_reservations(team, key_id, amount)`);
  // Files written before the split kept every reservation, settled or not, in `reservations`.
  db.transaction(() => {
    const old = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'reservations'`).get();
    if (!old) return;
    db.exec(`
      INSERT OR IGNORE INTO held_reservations (team, id, amount, expires_at)
        SELECT team, id, amount, expires_at FROM reservations WHERE state = 'held';
      INSERT OR IGNORE INTO settled_reservations (team, id, settled_at)
        SELECT team, id, settled_at FROM reservations WHERE state = 'settled' ORDER BY settled_at;
      DROP TABLE reservations;
    `);
  }).immediate();
}
