// SQLite QuotaStore housekeeping: a file written before held and settled reservations were
// split keeps its live leases and its settled ids, settled ids go after a day, oldest first, and
// a rate window's kept total matches its buckets (rebuilt at start, moved by every change), and
// a window kept as one row per request (before buckets) is carried over.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteQuotaStore } from '../../src/quota/sqlite-quota-store.js';
import type { SettleInput } from '../../src/quota/quota-store.js';
import type { SqliteConnection, StoreConnection } from '../../src/store/connection.js';
import { backends, cleanup } from '../helpers/backends.js';

const T0 = Date.UTC(2026, 0, 15, 12);
const KEPT = 3_600_000; // how long settled ids are kept
const settle = (id: string, actual: number, now = T0): SettleInput => ({
  team: 'ml', reservationId: id, actual, outcome: 'completed', periodId: 'month:2026-01', model: 'flux', day: '2026-01-15', now,
  key: null, tokenWindows: [],
});

describe('SQLite QuotaStore schema', () => {
  let conn: StoreConnection;
  let db: SqliteConnection['db'];
  beforeEach(async () => {
    conn = await backends.find((b) => b.name === 'sqlite')!.open();
    if (conn.kind !== 'sqlite') throw new Error('expected SQLite');
    db = conn.db;
  });
  afterEach(async () => cleanup(conn));

  it('carries held and settled reservations over from the single reservations table', async () => {
    db.exec(`
      CREATE TABLE quota_state (team TEXT PRIMARY KEY, period_id TEXT NOT NULL, spent NUMERIC NOT NULL, reserved NUMERIC NOT NULL);
      CREATE TABLE reservations (
        team TEXT NOT NULL, id TEXT NOT NULL, amount NUMERIC NOT NULL, expires_at INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('held', 'settled', 'expired')), settled_at INTEGER, PRIMARY KEY (team, id));
      INSERT INTO quota_state VALUES ('ml', 'month:2026-01', 50, 300);
      INSERT INTO reservations VALUES
        ('ml', 'held', 300, ${T0 + 60_000}, 'held', NULL),
        ('ml', 'settled', 0, ${T0}, 'settled', ${T0 - 1000}),
        ('ml', 'expired', 0, ${T0 - 5000}, 'expired', ${T0 - 5000});
    `);
    const store = createSqliteQuotaStore(conn as SqliteConnection);
    expect(await store.usage('ml', 'month:2026-01', T0)).toEqual({ spent: 50, reserved: 300, outstanding: 1 });
    expect(await store.settle(settle('settled', 10))).toBe(false);
    expect(await store.settle(settle('expired', 10))).toBe(true); // its lease ended: charged, nothing to release
    expect(await store.settle(settle('held', 100))).toBe(true);
    expect(await store.usage('ml', 'month:2026-01', T0)).toEqual({ spent: 160, reserved: 0, outstanding: 0 });
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'reservations'`).get()).toBeUndefined();
  });

  it('carries ledger rows from before keys were recorded over, with key ""', async () => {
    db.exec(`
      CREATE TABLE ledger (day TEXT NOT NULL, team TEXT NOT NULL, model TEXT NOT NULL,
        requests INTEGER NOT NULL DEFAULT 0, tokens_spent NUMERIC NOT NULL DEFAULT 0, tokens_saved NUMERIC NOT NULL DEFAULT 0,
        hits INTEGER NOT NULL DEFAULT 0, coalesced INTEGER NOT NULL DEFAULT 0, rejections INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0, outcome_unknown INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (day, team, model));
      INSERT INTO ledger (day, team, model, requests, tokens_spent) VALUES ('2026-01-15', 'ml', 'flux', 3, 30);
    `);
    const store = createSqliteQuotaStore(conn as SqliteConnection);
    await store.countRejection({ team: 'ml', key: 'key_a', model: 'flux', day: '2026-01-15' });
    expect((await store.ledger('2026-01-15', '2026-01-15')).map((r) => [r.key, r.requests, r.tokens_spent])).toEqual([
      ['', 3, 30],
      ['key_a', 1, 0],
    ]);
  });

  it('forgets settled ids an hour after settling, oldest first', async () => {
    const store = createSqliteQuotaStore(conn as SqliteConnection);
    const count = () => db.prepare(`SELECT COUNT(*) FROM settled_reservations`).pluck().get();
    for (const [id, at] of [['a', T0], ['b', T0 + 10_000]] as const) {
      await store.reserve({
        team: 'ml', reservationId: id, amount: 10, budgetTokens: null, periodId: 'month:2026-01', leaseMs: 60_000,
        key: null, windows: [], model: 'flux', day: '2026-01-15', now: at,
      });
      expect(await store.settle(settle(id, 10, at))).toBe(true);
    }
    expect(count()).toBe(2);
    const later = { team: 'ml', amount: 10, budgetTokens: null, periodId: 'month:2026-01', leaseMs: 60_000, key: null, windows: [], model: 'flux', day: '2026-01-16' };
    await store.reserve({ ...later, reservationId: 'c', now: T0 + KEPT + 5_000 });
    expect(count()).toBe(1);
    expect(await store.settle(settle('b', 10, T0 + KEPT + 5_000))).toBe(false);
  });

  it('catches up when more settled ids are due than one prune takes', async () => {
    const store = createSqliteQuotaStore(conn as SqliteConnection);
    const count = () => db.prepare(`SELECT COUNT(*) FROM settled_reservations`).pluck().get();
    db.prepare(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
      INSERT INTO settled_reservations (team, id, settled_at) SELECT 'ml', 'old-' || i, ? FROM n`).run(T0);
    const at = T0 + KEPT + 1;
    const reserve = (id: string) =>
      store.reserve({
        team: 'ml', reservationId: id, amount: 1, budgetTokens: null, periodId: 'month:2026-01', leaseMs: 60_000,
        key: null, windows: [], model: 'flux', day: '2026-01-16', now: at,
      });
    await reserve('r1');
    expect(count()).toBe(1500);
    await reserve('r2'); // same instant: a full batch was taken, so the next reserve prunes again
    await reserve('r3');
    expect(count()).toBe(0);
  });

  it('carries a per-request window log over into buckets and keeps each total equal to its buckets', async () => {
    db.exec(`
      CREATE TABLE rate_events (scope TEXT NOT NULL, id TEXT NOT NULL, at INTEGER NOT NULL, weight NUMERIC NOT NULL,
        PRIMARY KEY (id, scope)) WITHOUT ROWID;
      INSERT INTO rate_events VALUES ('ml|team|tokens_per_minute', 'old', ${T0 - 30_000}, 70);
    `);
    const store = createSqliteQuotaStore(conn as SqliteConnection);
    const total = () => db.prepare(`SELECT used FROM rate_totals WHERE scope = 'ml|team|tokens_per_minute'`).pluck().get();
    const entries = () => db.prepare(`SELECT SUM(weight) FROM rate_buckets WHERE scope = 'ml|team|tokens_per_minute'`).pluck().get();
    expect(total()).toBe(70);
    const reserve = (id: string, amount: number, now: number) =>
      store.reserve({
        team: 'ml', reservationId: id, amount, budgetTokens: null, periodId: 'month:2026-01', leaseMs: 60_000, key: null,
        windows: [{ scope: 'team', limit: 'tokens_per_minute', max: 100 }], model: 'flux', day: '2026-01-15', now,
      });
    expect((await reserve('a', 40, T0)).ok).toBe(false); // 70 + 40 > 100
    expect((await reserve('a', 20, T0)).ok).toBe(true);
    expect(await reserve('a', 20, T0)).toMatchObject({ ok: true }); // a retried reserve counts once
    expect(total()).toBe(90);
    await store.settle({ ...settle('a', 5), tokenWindows: ['team'] }); // estimate 20, charged 5
    expect([total(), entries()]).toEqual([75, 75]);
    expect((await reserve('b', 30, T0 + 31_000)).ok).toBe(true); // 'old' left the window: 5 + 30
    expect([total(), entries()]).toEqual([35, 35]);
  });
});
