// QuotaStore on SQLite: budgets, leases, rate windows (./sqlite-rate-windows.ts) and the usage
// ledger (../ledger/sqlite-ledger.ts) in one file. Every decision runs within one BEGIN IMMEDIATE transaction (reserves and
// settlements share theirs with the other writes of the same event-loop turn), so two processes
// sharing the file also serialize; a decision must never read and write in separate transactions.
import { sqliteGrantWriter } from '../generations/grant-store.js';
import type { SqliteConnection } from '../store/connection.js';
import { sqliteLedger } from '../ledger/sqlite-ledger.js';
import { createQuotaSchema } from './sqlite-quota-schema.js';
import { laterPeriodSql, periodAfter, spendIn } from './period-carry.js';
import { createSqliteRateWindows } from './sqlite-rate-windows.js';
import type {
  LedgerPlace, QuotaStore, RateWindow, ReserveInput, ReserveResult, RoomInput, SettleInput,
} from './quota-store.js';

/**
 * Settled ids are kept this long, so a second settle of the same reservation is recognised (as
 * on Redis). Duplicates come from a poll and the reconciler seeing one job end, seconds apart;
 * an hour is ample, and keeps the table small at any request rate.
 */
const SETTLED_KEPT_MS = 3_600_000;
/** Settled ids are pruned oldest first, this many at most per reserve, every PRUNE_EVERY_MS or at once while behind. */
const PRUNE_BATCH = 1_000;
const PRUNE_EVERY_MS = 100;

/** Where a reserve's or settle's ledger count lands. */
const place = (i: { team: string; model: string; day: string; key: { id: string } | null }): LedgerPlace => ({
  team: i.team, model: i.model, day: i.day, key: i.key?.id ?? '',
});

interface State {
  spent: number;
  reserved: number;
}

/** A settlement's period id is a later period of the same kind than the stored one: spent starts from zero. */
const NEW_PERIOD = laterPeriodSql('excluded.period_id', 'period_id');

export function createSqliteQuotaStore(conn: SqliteConnection): QuotaStore {
  const { db } = conn;
  createQuotaSchema(db);
  const q = {
    // Rows on the request path come as arrays (.raw()): building an object per row costs more than the read.
    getState: db.prepare(`SELECT period_id, spent, reserved FROM quota_state WHERE team = ?`).raw(),
    putState: db.prepare(`
      INSERT INTO quota_state (team, period_id, spent, reserved) VALUES (?, ?, ?, ?)
      ON CONFLICT(team) DO UPDATE SET period_id = excluded.period_id, spent = excluded.spent,
        reserved = excluded.reserved`),
    // Settling: spent starts from zero in a later period of the same kind (./period-carry.ts); the held amount (if any) is released.
    // (team, periodId, actual, release). Parameters are positional on the request path: named ones cost a lookup each.
    chargeState: db.prepare(`
      INSERT INTO quota_state (team, period_id, spent, reserved) VALUES (?, ?, ?, 0)
      ON CONFLICT(team) DO UPDATE SET spent = IIF(${NEW_PERIOD}, 0, spent) + excluded.spent,
        period_id = IIF(${NEW_PERIOD}, excluded.period_id, period_id), reserved = MAX(0, reserved - ?)`),
    releaseReserved: db.prepare(`UPDATE quota_state SET reserved = MAX(0, reserved - ?) WHERE team = ?`),
    expiredSum: db
      .prepare(`SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM held_reservations WHERE team = ? AND expires_at <= ?`)
      .raw(),
    deleteExpired: db.prepare(`DELETE FROM held_reservations WHERE team = ? AND expires_at <= ?`),
    known: db.prepare(`
      SELECT EXISTS (SELECT 1 FROM held_reservations WHERE team = ? AND id = ?)
        OR EXISTS (SELECT 1 FROM settled_reservations WHERE team = ? AND id = ?)`).pluck(),
    hold: db.prepare(`INSERT INTO held_reservations (team, id, amount, expires_at, key_id, counted_at) VALUES (?, ?, ?, ?, ?, ?)`),
    keyHeld: db.prepare(`SELECT COALESCE(SUM(amount), 0) FROM held_reservations WHERE team = ? AND key_id = ?`).pluck(),
    getKeyState: db.prepare(`SELECT period_id, spent FROM key_quota_state WHERE key_id = ?`).raw(),
    // (key id, periodId, actual)
    chargeKey: db.prepare(`
      INSERT INTO key_quota_state (key_id, period_id, spent) VALUES (?, ?, ?)
      ON CONFLICT(key_id) DO UPDATE SET spent = IIF(${NEW_PERIOD}, 0, spent) + excluded.spent,
        period_id = IIF(${NEW_PERIOD}, excluded.period_id, period_id)`),
    // (to key, from key): the old key's spend, as it counts in the new key's period if it has one.
    carryKey: db.prepare(`
      INSERT INTO key_quota_state (key_id, period_id, spent) SELECT ?, period_id, spent FROM key_quota_state WHERE key_id = ?
      ON CONFLICT(key_id) DO UPDATE SET spent = spent + IIF(${laterPeriodSql('period_id', 'excluded.period_id')}, 0, excluded.spent)`),
    // An admin changed a budget's period (see period-carry.ts): the new kind's id, keeping the old kind's current spend.
    // A budget with no state yet gets one in the new kind: a settlement of the old kind landing later carries into it.
    rebaseTeam: db.prepare(`
      INSERT INTO quota_state (team, period_id, spent, reserved) VALUES (@id, @to, @charged, 0)
      ON CONFLICT(team) DO UPDATE SET spent = MAX(IIF(${laterPeriodSql('@from', 'period_id')}, 0, spent), @charged), period_id = @to`),
    rebaseKey: db.prepare(`
      INSERT INTO key_quota_state (key_id, period_id, spent) VALUES (@id, @to, @charged)
      ON CONFLICT(key_id) DO UPDATE SET spent = MAX(IIF(${laterPeriodSql('@from', 'period_id')}, 0, spent), @charged), period_id = @to`),
    unhold: db.prepare(`DELETE FROM held_reservations WHERE team = ? AND id = ? RETURNING amount, counted_at`).raw(),
    markSettled: db.prepare(`INSERT OR IGNORE INTO settled_reservations (team, id, settled_at) VALUES (?, ?, ?)`),
    // A lease that already ran out is over even if no sweep has noticed yet; a shorter one never cuts it.
    extend: db.prepare(`
      UPDATE held_reservations SET expires_at = @until
      WHERE team = @team AND id = @id AND expires_at > @now AND expires_at < @until`),
    oldestSettled: db.prepare(`SELECT settled_at FROM settled_reservations ORDER BY seq LIMIT 1`).pluck(),
    prune: db.prepare(`
      DELETE FROM settled_reservations
      WHERE seq IN (SELECT seq FROM settled_reservations ORDER BY seq LIMIT ?) AND settled_at < ?`),
    heldCount: db.prepare(`SELECT COUNT(*) FROM held_reservations WHERE team = ? AND expires_at > ?`).pluck(),
    outstanding: db.prepare(`SELECT COUNT(*) FROM held_reservations WHERE expires_at > ?`).pluck(),
  };
  const grant = sqliteGrantWriter(db);
  const rateWindows = createSqliteRateWindows(db);
  const { bump, rows: ledgerRows } = sqliteLedger(db);

  /** A key's spend in `periodId` (zero in a new period). */
  const keySpent = (keyId: string, periodId: string): number => {
    const row = q.getKeyState.get(keyId) as [periodId: string, spent: number] | undefined;
    return row ? spendIn(row[0], Number(row[1]), periodId) : 0;
  };

  /** The team's state in `periodId` (./period-carry.ts), and the period id a reserve leaves. */
  const load = (team: string, periodId: string): { st: State; leaves: string } => {
    const row = q.getState.get(team) as [periodId: string, spent: number, reserved: number] | undefined;
    if (!row) return { st: { spent: 0, reserved: 0 }, leaves: periodId };
    return { st: { spent: spendIn(row[0], row[1], periodId), reserved: row[2] }, leaves: periodAfter(row[0], periodId) };
  };

  /** Ends the team's leases that ran out at or before `now`; returns the tokens they held. */
  const sweep = (team: string, now: number): number => {
    const [count, freed] = q.expiredSum.get(team, now) as [number, number];
    if (count > 0) q.deleteExpired.run(team, now);
    return freed;
  };

  let prunedAt = -Infinity;
  const pruneMaybe = (now: number) => {
    if (now - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = now;
    const cutoff = now - SETTLED_KEPT_MS;
    const oldest = q.oldestSettled.get() as number | undefined;
    if (oldest === undefined || oldest >= cutoff) return;
    // A full batch means more are due: the next reserve goes on (settles may outpace one batch per interval).
    if (q.prune.run(PRUNE_BATCH, cutoff).changes === PRUNE_BATCH) prunedAt = -Infinity;
  };

  /** A window's rows: `team|scope|limit`, the key's id standing for `key`. */
  const windowScope = (team: string, keyId: string | undefined, w: Pick<RateWindow, 'scope' | 'limit'>) =>
    `${team}|${w.scope === 'key' ? `key:${keyId}` : 'team'}|${w.limit}`;

  /**
   * One decision over every limit a request must fit. With `probe`, nothing is checked or
   * written beyond sweeps: it measures the room left (see QuotaStore.room).
   */
  const decide = (i: ReserveInput, probe: boolean): ReserveResult => {
    pruneMaybe(i.now);
    const { st, leaves } = load(i.team, i.periodId);
    const freed = sweep(i.team, i.now);
    st.reserved = Math.max(0, st.reserved - freed);
    // The state row is written once, and only when something changed (a sweep, a reservation).
    const keep = () => freed > 0 && q.putState.run(i.team, leaves, st.spent, st.reserved);
    const refuse = (result: ReserveResult): ReserveResult => {
      keep();
      bump(place(i), { requests: 1, rejections: 1 });
      return result;
    };
    // A retried reserve (e.g. resent after a dropped connection) must not hold twice.
    if (!probe && q.known.get(i.team, i.reservationId, i.team, i.reservationId)) {
      keep();
      return { ok: true, ...st, left: null };
    }
    const rooms: number[] = [];
    const windows = i.windows.map((w) => {
      const scope = windowScope(i.team, i.key?.id, w);
      const used = rateWindows.used(scope, i.now);
      const weight = w.limit === 'tokens_per_minute' ? i.amount : 1;
      if (w.limit === 'tokens_per_minute') rooms.push(w.max - used - weight);
      return { ...w, scope: w.scope, key: scope, weight, used };
    });
    if (!probe) {
      for (const w of windows) {
        if (w.used + w.weight <= w.max) continue;
        return refuse({ ok: false, reason: 'rate_limit', scope: w.scope, limit: w.limit, retryAfterMs: rateWindows.retryAfter(w.key, w.used, w.weight, w.max, i.now) });
      }
    }
    if (i.budgetTokens !== null) {
      if (!probe && st.spent + st.reserved + i.amount > i.budgetTokens) return refuse({ ok: false, reason: 'budget', scope: 'team', ...st });
      rooms.push(i.budgetTokens - st.spent - st.reserved - i.amount);
    }
    if (i.key && i.key.budgetTokens !== null) {
      const ks = { spent: keySpent(i.key.id, i.key.periodId), reserved: Number(q.keyHeld.get(i.team, i.key.id)) };
      if (!probe && ks.spent + ks.reserved + i.amount > i.key.budgetTokens) return refuse({ ok: false, reason: 'budget', scope: 'key', ...ks });
      rooms.push(i.key.budgetTokens - ks.spent - ks.reserved - i.amount);
    }
    const left = rooms.length > 0 ? Math.max(0, Math.min(...rooms)) : null;
    if (probe) {
      keep();
      return { ok: true, ...st, left };
    }
    st.reserved += i.amount;
    q.putState.run(i.team, leaves, st.spent, st.reserved);
    q.hold.run(i.team, i.reservationId, i.amount, i.now + i.leaseMs, i.key?.id ?? null, i.now);
    for (const w of windows) rateWindows.count(w.key, i.now, w.weight);
    return { ok: true, ...st, left };
  };

  const settle = (i: SettleInput): boolean => {
    if (i.grant) grant(i.grant.generationId, i.grant.team, i.now);
    if (q.markSettled.run(i.team, i.reservationId, i.now).changes === 0) return false;
    // Held (even if its lease ran out unswept): release it. Swept or never held: already released.
    const held = q.unhold.get(i.team, i.reservationId) as [amount: number, countedAt: number | null] | undefined;
    q.chargeState.run(i.team, i.periodId, i.actual, held?.[0] ?? 0);
    if (i.key) q.chargeKey.run(i.key.id, i.key.periodId, i.actual);
    // A token window counted the estimate; it takes the actual cost instead, while its bucket is in the window.
    if (held && held[1] !== null) {
      for (const scope of i.tokenWindows ?? []) { // absent in settlements journaled before token windows
        rateWindows.correct(windowScope(i.team, i.key?.id, { scope, limit: 'tokens_per_minute' }), held[1], i.actual - held[0]);
      }
    }
    const failed = i.outcome === 'failed' || i.outcome === 'error' ? 1 : 0;
    bump(place(i), { requests: 1, tokens_spent: i.actual, failures: failed });
    return true;
  };

  const usageTx = db.transaction((team: string, periodId: string, now: number) => {
    const freed = sweep(team, now);
    if (freed > 0) q.releaseReserved.run(freed, team);
    return { ...load(team, periodId).st, outstanding: Number(q.heldCount.get(team, now)) };
  });

  const savingsTx = db.transaction((rows: Parameters<QuotaStore['addSavings']>[0]) => {
    for (const r of rows) {
      bump(r, {
        requests: r.hits + r.coalesced, hits: r.hits, coalesced: r.coalesced, tokens_saved: r.tokens_saved,
      });
    }
  });
  const bumpTx = db.transaction(bump);
  const probe = (i: RoomInput) =>
    decide({ ...i, reservationId: '', amount: 0, leaseMs: 0, model: '', day: '' }, true) as { left: number | null };

  return {
    // The request path's decisions commit with the other writes of their turn (group commit).
    reserve: (input) => conn.writes.run(() => decide(input, false)),
    settle: (input) => conn.writes.run(() => settle(input)),
    extend: async (team, id, leaseMs, now) => void q.extend.run({ team, id, now, until: now + leaseMs }),
    markUnknown: async (at) => bumpTx.immediate(at, { requests: 1, outcome_unknown: 1 }),
    countRejection: async (at) => bumpTx.immediate(at, { requests: 1, rejections: 1 }),
    room: async (input) => conn.writes.run(() => probe(input).left),
    usage: async (team, periodId, now) => usageTx.immediate(team, periodId, now),
    keySpent: async (_team, keyId, periodId) => keySpent(keyId, periodId),
    carryKeySpend: async (_team, fromKeyId, toKeyId) => void q.carryKey.run(toKeyId, fromKeyId),
    rebasePeriod: async (team, keyId, from, to, charged) =>
      void (keyId === null ? q.rebaseTeam : q.rebaseKey).run({ id: keyId ?? team, from, to, charged }),
    outstanding: async (now) => Number(q.outstanding.get(now)),
    addSavings: async (rows) => savingsTx.immediate(rows),
    ledger: async (from, to) => ledgerRows(from, to),
  };
}
