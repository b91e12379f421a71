// The SQLite QuotaStore's rate windows: 100 ms buckets and their running total per window
// (./rate-buckets.ts), read and written inside the store's own decision transaction. A
// window is named by its scope string (`team|team|limit` or `team|key:<id>|limit`).
import type { Database } from 'better-sqlite3';
import { BUCKET_MS, WINDOW_MS, bucketOf, lastExpiredBucket, untilExpired } from './rate-buckets.js';

export interface SqliteRateWindows {
  /** Drops the window's buckets that left it; returns its total weight at `now`. */
  used(scope: string, now: number): number;
  /** When the window will have room for `weight` more (ms from now); a weight above its max never fits: a minute. */
  retryAfter(scope: string, used: number, weight: number, max: number, now: number): number;
  /** Counts `weight` at `now`. */
  count(scope: string, now: number, weight: number): void;
  /** Moves what was counted at `countedAt` by `delta`, if that bucket is still in the window. */
  correct(scope: string, countedAt: number, delta: number): void;
}

export function createSqliteRateWindows(db: Database): SqliteRateWindows {
  db.exec(`
    CREATE TABLE IF NOT EXISTS rate_buckets (
      scope TEXT NOT NULL, bucket INTEGER NOT NULL, weight NUMERIC NOT NULL, PRIMARY KEY (scope, bucket)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS rate_totals (scope TEXT PRIMARY KEY, used NUMERIC NOT NULL) WITHOUT ROWID;
    DROP TABLE IF EXISTS rate_windows;
  `);
  // The totals are rebuilt at start. Files from before kept one row per request (rate_events): summed into buckets.
  db.transaction(() => {
    const log = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rate_events'`).get();
    if (log) {
      db.exec(`
        INSERT OR IGNORE INTO rate_buckets (scope, bucket, weight)
          SELECT scope, (at + ${BUCKET_MS - 1}) / ${BUCKET_MS}, SUM(weight) FROM rate_events GROUP BY 1, 2;
        DROP TABLE rate_events;`);
    }
    db.exec(`
      DELETE FROM rate_totals;
      INSERT INTO rate_totals (scope, used) SELECT scope, SUM(weight) FROM rate_buckets GROUP BY scope;`);
  }).immediate();

  const q = {
    expired: db.prepare(`SELECT COUNT(*), COALESCE(SUM(weight), 0) FROM rate_buckets WHERE scope = ? AND bucket <= ?`).raw(),
    trim: db.prepare(`DELETE FROM rate_buckets WHERE scope = ? AND bucket <= ?`),
    // The total and the oldest bucket in one step: most calls find nothing to drop and stop there.
    usedAndOldest: db.prepare(`SELECT used, (SELECT MIN(bucket) FROM rate_buckets WHERE scope = ?) FROM rate_totals WHERE scope = ?`).raw(),
    addUsed: db.prepare(`
      INSERT INTO rate_totals (scope, used) VALUES (?, ?) ON CONFLICT(scope) DO UPDATE SET used = used + excluded.used`),
    buckets: db.prepare(`SELECT bucket, weight FROM rate_buckets WHERE scope = ? ORDER BY bucket`).raw(),
    count: db.prepare(`
      INSERT INTO rate_buckets (scope, bucket, weight) VALUES (?, ?, ?)
      ON CONFLICT(scope, bucket) DO UPDATE SET weight = weight + excluded.weight`),
    correct: db.prepare(`UPDATE rate_buckets SET weight = weight + ? WHERE scope = ? AND bucket = ?`),
  };

  return {
    used(scope, now) {
      const row = q.usedAndOldest.get(scope, scope) as [number, number | null] | undefined;
      if (!row) return 0;
      const last = lastExpiredBucket(now);
      const [used, oldest] = row;
      if (oldest === null || oldest > last) return Number(used);
      const [, freed] = q.expired.get(scope, last) as [number, number];
      q.trim.run(scope, last);
      q.addUsed.run(scope, -freed);
      return Number(used) - Number(freed);
    },
    retryAfter(scope, used, weight, max, now) {
      for (const [bucket, w] of q.buckets.all(scope) as [number, number][]) {
        used -= w;
        if (used + weight <= max) return untilExpired(bucket, now);
      }
      return WINDOW_MS;
    },
    count(scope, now, weight) {
      q.count.run(scope, bucketOf(now), weight);
      q.addUsed.run(scope, weight);
    },
    correct(scope, countedAt, delta) {
      if (q.correct.run(delta, scope, bucketOf(countedAt)).changes > 0) q.addUsed.run(scope, delta);
    },
  };
}
