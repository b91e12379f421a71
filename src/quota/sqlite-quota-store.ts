// QuotaStore on SQLite: budgets, leases, rate windows and the usage ledger in one file. Every
// decision runs in one BEGIN IMMEDIATE transaction, so two processes sharing the file also
// serialize; a decision must never read and write in separate transactions.
import type { SqliteConnection } from '../store/connection.js';
import type { LedgerCounters, LedgerRow, QuotaStore, ReserveInput, ReserveResult, SettleInput } from './quota-store.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const COUNTERS = [
  'requests', 'tokens_spent', 'tokens_saved', 'hits', 'coalesced', 'rejections', 'failures', 'outcome_unknown',
] as const;

interface State {
  spent: number;
  reserved: number;
}

export function createSqliteQuotaStore(conn: SqliteConnection): QuotaStore {
  const { db } = conn;
  db.exec(`
    CREATE TABLE IF NOT EXISTS quota_state (
      team TEXT PRIMARY KEY, period_id TEXT NOT NULL, spent NUMERIC NOT NULL, reserved NUMERIC NOT NULL);
    CREATE TABLE IF NOT EXISTS reservations (
      team TEXT NOT NULL, id TEXT NOT NULL, amount NUMERIC NOT NULL, expires_at INTEGER NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('held', 'settled', 'expired')), settled_at INTEGER,
      PRIMARY KEY (team, id));
    CREATE INDEX IF NOT EXISTS reservations_lease ON reservations(team, state, expires_at);
    CREATE INDEX IF NOT EXISTS reservations_closed ON reservations(state, settled_at);
    CREATE TABLE IF NOT EXISTS rate_windows (
      team TEXT PRIMARY KEY, window_start INTEGER NOT NULL, count INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS ledger (
      day TEXT NOT NULL, team TEXT NOT NULL, model TEXT NOT NULL,
      ${COUNTERS.map((c) => `${c} ${c.startsWith('tokens_') ? 'NUMERIC' : 'INTEGER'} NOT NULL DEFAULT 0`).join(', ')},
      PRIMARY KEY (day, team, model));
  `);
  const q = {
    getState: db.prepare(`SELECT period_id, spent, reserved FROM quota_state WHERE team = ?`),
    putState: db.prepare(`
      INSERT INTO quota_state (team, period_id, spent, reserved) VALUES (?, ?, ?, ?)
      ON CONFLICT(team) DO UPDATE SET period_id = excluded.period_id, spent = excluded.spent,
        reserved = excluded.reserved`),
    releaseReserved: db.prepare(`UPDATE quota_state SET reserved = MAX(0, reserved - ?) WHERE team = ?`),
    expiredSum: db
      .prepare(`SELECT COALESCE(SUM(amount), 0) FROM reservations WHERE team = ? AND state = 'held' AND expires_at <= ?`)
      .pluck(),
    expire: db.prepare(`
      UPDATE reservations SET state = 'expired', settled_at = ? WHERE team = ? AND state = 'held' AND expires_at <= ?`),
    getRes: db.prepare(`SELECT amount, expires_at, state FROM reservations WHERE team = ? AND id = ?`),
    insertRes: db.prepare(`
      INSERT INTO reservations (team, id, amount, expires_at, state) VALUES (?, ?, ?, ?, 'held')`),
    settleRes: db.prepare(`
      INSERT INTO reservations (team, id, amount, expires_at, state, settled_at) VALUES (?, ?, 0, ?, 'settled', ?)
      ON CONFLICT(team, id) DO UPDATE SET state = 'settled', settled_at = excluded.settled_at`),
    extendRes: db.prepare(`UPDATE reservations SET expires_at = ? WHERE team = ? AND id = ?`),
    prune: db.prepare(`DELETE FROM reservations WHERE state IN ('settled', 'expired') AND settled_at < ?`),
    getRate: db.prepare(`SELECT window_start, count FROM rate_windows WHERE team = ?`),
    putRate: db.prepare(`
      INSERT INTO rate_windows (team, window_start, count) VALUES (?, ?, ?)
      ON CONFLICT(team) DO UPDATE SET window_start = excluded.window_start, count = excluded.count`),
    heldCount: db.prepare(`SELECT COUNT(*) FROM reservations WHERE team = ? AND state = 'held' AND expires_at > ?`).pluck(),
    outstanding: db.prepare(`SELECT COUNT(*) FROM reservations WHERE state = 'held' AND expires_at > ?`).pluck(),
    bump: db.prepare(`
      INSERT INTO ledger (day, team, model, ${COUNTERS.join(', ')})
      VALUES (@day, @team, @model, ${COUNTERS.map((c) => `@${c}`).join(', ')})
      ON CONFLICT(day, team, model) DO UPDATE SET ${COUNTERS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`),
    ledger: db.prepare(`
      SELECT day, team, model, ${COUNTERS.join(', ')} FROM ledger
      WHERE day >= ? AND day <= ? ORDER BY day, team, model`),
  };

  const bump = (day: string, team: string, model: string, add: Partial<LedgerCounters>) => {
    const row: Record<string, unknown> = { day, team, model };
    for (const c of COUNTERS) row[c] = add[c] ?? 0;
    q.bump.run(row);
  };

  /** The team's state in `periodId` (spent starts from zero in a new period). */
  const load = (team: string, periodId: string): State => {
    const row = q.getState.get(team) as { period_id: string; spent: number; reserved: number } | undefined;
    if (!row) return { spent: 0, reserved: 0 };
    return { spent: row.period_id === periodId ? row.spent : 0, reserved: row.reserved };
  };

  /** Ends the team's leases that ran out at or before `now`, giving their tokens back. */
  const sweep = (team: string, now: number) => {
    const freed = Number(q.expiredSum.get(team, now));
    if (q.expire.run(now, team, now).changes > 0) q.releaseReserved.run(freed, team);
  };

  // Closed reservations are kept a day so a late second settle is still recognised, then go.
  let prunedAt = -Infinity;
  const pruneMaybe = (now: number) => {
    if (now - prunedAt < MINUTE) return;
    prunedAt = now;
    q.prune.run(now - DAY);
  };

  const reserveTx = db.transaction((i: ReserveInput): ReserveResult => {
    pruneMaybe(i.now);
    sweep(i.team, i.now);
    const st = load(i.team, i.periodId);
    q.putState.run(i.team, i.periodId, st.spent, st.reserved);
    // A retried reserve (e.g. resent after a dropped connection) must not hold twice.
    if (q.getRes.get(i.team, i.reservationId)) return { ok: true, ...st };
    const window = i.now - (i.now % MINUTE);
    let count = 0;
    if (i.requestsPerMinute !== null) {
      const rate = q.getRate.get(i.team) as { window_start: number; count: number } | undefined;
      count = rate?.window_start === window ? rate.count : 0;
      if (count >= i.requestsPerMinute) {
        bump(i.day, i.team, i.model, { requests: 1, rejections: 1 });
        return { ok: false, reason: 'rate_limit', retryAfterMs: window + MINUTE - i.now };
      }
    }
    if (i.budgetTokens !== null && st.spent + st.reserved + i.amount > i.budgetTokens) {
      bump(i.day, i.team, i.model, { requests: 1, rejections: 1 });
      return { ok: false, reason: 'budget', ...st };
    }
    st.reserved += i.amount;
    q.putState.run(i.team, i.periodId, st.spent, st.reserved);
    q.insertRes.run(i.team, i.reservationId, i.amount, i.now + i.leaseMs);
    if (i.requestsPerMinute !== null) q.putRate.run(i.team, window, count + 1);
    return { ok: true, ...st };
  });

  const settleTx = db.transaction((i: SettleInput): boolean => {
    const res = q.getRes.get(i.team, i.reservationId) as { amount: number; state: string } | undefined;
    if (res?.state === 'settled') return false;
    const st = load(i.team, i.periodId);
    // Held (even if its lease ran out unswept): release it. Expired or unknown: already released.
    if (res?.state === 'held') st.reserved = Math.max(0, st.reserved - res.amount);
    st.spent += i.actual;
    q.putState.run(i.team, i.periodId, st.spent, st.reserved);
    q.settleRes.run(i.team, i.reservationId, i.now, i.now);
    const failed = i.outcome === 'failed' || i.outcome === 'error' ? 1 : 0;
    bump(i.day, i.team, i.model, { requests: 1, tokens_spent: i.actual, failures: failed });
    return true;
  });

  const extendTx = db.transaction((team: string, id: string, leaseMs: number, now: number) => {
    const res = q.getRes.get(team, id) as { expires_at: number; state: string } | undefined;
    // A lease that already ran out is over even if no sweep has noticed yet.
    if (!res || res.state !== 'held' || res.expires_at <= now) return;
    if (now + leaseMs > res.expires_at) q.extendRes.run(now + leaseMs, team, id);
  });

  const usageTx = db.transaction((team: string, periodId: string, now: number) => {
    sweep(team, now);
    return { ...load(team, periodId), outstanding: Number(q.heldCount.get(team, now)) };
  });

  const savingsTx = db.transaction((rows: Parameters<QuotaStore['addSavings']>[0]) => {
    for (const r of rows) {
      bump(r.day, r.team, r.model, {
        requests: r.hits + r.coalesced, hits: r.hits, coalesced: r.coalesced, tokens_saved: r.tokens_saved,
      });
    }
  });
  const bumpTx = db.transaction(bump);

  return {
    reserve: async (input) => reserveTx.immediate(input),
    settle: async (input) => settleTx.immediate(input),
    extend: async (team, id, leaseMs, now) => extendTx.immediate(team, id, leaseMs, now),
    markUnknown: async ({ team, model, day }) => bumpTx.immediate(day, team, model, { requests: 1, outcome_unknown: 1 }),
    countRejection: async ({ team, model, day }) => bumpTx.immediate(day, team, model, { requests: 1, rejections: 1 }),
    usage: async (team, periodId, now) => usageTx.immediate(team, periodId, now),
    outstanding: async (now) => Number(q.outstanding.get(now)),
    addSavings: async (rows) => savingsTx.immediate(rows),
    ledger: async (from, to) => q.ledger.all(from, to) as LedgerRow[],
  };
}
