// The usage ledger in the SQLite file: one row of counters per (day, team, model, key). The
// quota store writes it inside its own transactions (a charge lands with the budget it moves);
// this module owns the table, its migration from files without keys, and its statements.
import type { Database } from 'better-sqlite3';
import { COUNTERS, type LedgerCounters, type LedgerPlace, type LedgerRow } from './counters.js';

export interface SqliteLedger {
  /** Adds to a row's counters; the caller provides the transaction. */
  bump(place: LedgerPlace, add: Partial<LedgerCounters>): void;
  /** Rows of days `from` to `to` (YYYY-MM-DD, inclusive), in day, team, model, key order. */
  rows(from: string, to: string): LedgerRow[];
}

export function sqliteLedger(db: Database): SqliteLedger {
  const columns = (db.prepare(`PRAGMA table_info(ledger)`).all() as { name: string }[]).map((c) => c.name);
  // The ledger gained the key in its primary key: files from before are carried over with key ''.
  const beforeKeys = columns.length > 0 && !columns.includes('key_id');
  db.transaction(() => {
    if (beforeKeys) db.exec(`ALTER TABLE ledger RENAME TO ledger_before_keys`);
    db.exec(`
      CREATE TABLE IF NOT EXISTS ledger (
        day TEXT NOT NULL, team TEXT NOT NULL, model TEXT NOT NULL, key_id TEXT NOT NULL DEFAULT '',
        ${COUNTERS.map((c) => `${c} ${c.startsWith('tokens_') ? 'NUMERIC' : 'INTEGER'} NOT NULL DEFAULT 0`).join(', ')},
        PRIMARY KEY (day, team, model, key_id));`);
    if (beforeKeys) {
      db.exec(`INSERT INTO ledger (day, team, model, ${COUNTERS.join(', ')})
        SELECT day, team, model, ${COUNTERS.join(', ')} FROM ledger_before_keys; DROP TABLE ledger_before_keys;`);
    }
  }).immediate();

  const bump = db.prepare(`
    INSERT INTO ledger (day, team, model, key_id, ${COUNTERS.join(', ')})
    VALUES (?, ?, ?, ?, ${COUNTERS.map(() => '?').join(', ')})
    ON CONFLICT(day, team, model, key_id) DO UPDATE SET ${COUNTERS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`);
  const read = db.prepare(`
    SELECT day, team, model, key_id AS key, ${COUNTERS.join(', ')} FROM ledger
    WHERE day >= ? AND day <= ? ORDER BY day, team, model, key_id`);

  return {
    bump({ day, team, model, key }, add) {
      // Positional parameters: named ones cost a lookup each, on the request path.
      const row: unknown[] = [day, team, model, key];
      for (const c of COUNTERS) row.push(add[c] ?? 0);
      bump.run(row);
    },
    rows: (from, to) => read.all(from, to) as LedgerRow[],
  };
}
