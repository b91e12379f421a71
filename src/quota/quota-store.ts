// The money path's storage: budgets reserved before a request goes upstream, settled with
// what upstream charged, and the durable usage ledger written in the same atomic step.
// Both backends implement this interface; one conformance suite tests both.

import type { LedgerPlace, LedgerRow, SavingsRow } from '../ledger/counters.js';

export type { LedgerCounters, LedgerPlace, LedgerRow, SavingsRow } from '../ledger/counters.js';

export type LimitScope = 'team' | 'key';
export type RateLimitName = 'requests_per_minute' | 'tokens_per_minute';

/** A sliding one-minute window a reservation must fit: it weighs 1 (requests) or its estimate (tokens). */
export interface RateWindow {
  scope: LimitScope;
  limit: RateLimitName;
  max: number;
}

/** The key a reservation is made with: its own budget (null = none; its spend is counted anyway). */
export interface KeyQuota {
  id: string;
  budgetTokens: number | null;
  periodId: string;
}

export interface ReserveInput {
  team: string;
  reservationId: string;
  /** Estimated cost in tokens. */
  amount: number;
  /** Team budget for the current period; null = unlimited. */
  budgetTokens: number | null;
  /** Identifies the current budget period (e.g. `day:2026-01-15`, `month:2026-01`, `total`); a new id starts from zero spent. */
  periodId: string;
  leaseMs: number;
  /** The key's own budget, checked with the team's in the same atomic step. */
  key: KeyQuota | null;
  /** Team and key rate windows; a reservation made counts in each, a refusal in none. */
  windows: RateWindow[];
  model: string;
  day: string;
  /** Current time (ms) from the gateway's clock. */
  now: number;
}

export type ReserveResult =
  /** `left`: the tightest room after this reservation (team and key budgets, token windows); null = no limit. */
  | { ok: true; spent: number; reserved: number; left: number | null }
  /** `spent`/`reserved` of the budget that refused (the team's or the key's). */
  | { ok: false; reason: 'budget'; scope: LimitScope; spent: number; reserved: number }
  | { ok: false; reason: 'rate_limit'; scope: LimitScope; limit: RateLimitName; retryAfterMs: number };

/** The limits whose room `room()` measures: a reservation's, without the request. */
export type RoomInput = Pick<ReserveInput, 'team' | 'budgetTokens' | 'periodId' | 'key' | 'windows' | 'now'>;

export type SettleOutcome = 'completed' | 'failed' | 'error';

export interface SettleInput {
  team: string;
  reservationId: string;
  /** Tokens upstream actually charged (0 for failed or error). */
  actual: number;
  outcome: SettleOutcome;
  periodId: string;
  model: string;
  day: string;
  now: number;
  /** The reservation's key: its spend is charged with the team's. */
  key: { id: string; periodId: string } | null;
  /** Scopes whose tokens_per_minute window counted the estimate: corrected to `actual` while still in the window. */
  tokenWindows: LimitScope[];
  /** Lets `team` poll this generation (src/generations/grant-store.ts), written in the same step: one commit, not two. */
  grant?: { generationId: string; team: string };
}

export interface TeamUsage {
  spent: number;
  reserved: number;
  /** Reservations currently held. */
  outstanding: number;
}

export interface QuotaStore {
  /** Atomically: sweep expired leases, check the rate limit, then reserve only if spent + reserved + amount <= budget. A refusal consumes nothing and counts a ledger rejection. */
  reserve(input: ReserveInput): Promise<ReserveResult>;
  /** Releases the reservation (if still held) and adds `actual` to spent and the ledger, once: settling the same reservation again is a no-op returning false. A reservation whose lease expired is still charged (upstream charged it). A grant is written either way. */
  settle(input: SettleInput): Promise<boolean>;
  /** Keeps a reservation for longer (pending async jobs, outcome-unknown requests). */
  extend(team: string, reservationId: string, leaseMs: number, now: number): Promise<void>;
  /** Counts one outcome-unknown request in the ledger; the reservation stays until settled or its lease ends. */
  markUnknown(input: LedgerPlace): Promise<void>;
  /** Counts a refusal that did not reach the store's own checks (account floor, max_tokens_per_request). */
  countRejection(input: LedgerPlace): Promise<void>;
  /** The tightest room left now under the given budgets and token windows (null = none limits it). */
  room(input: RoomInput): Promise<number | null>;
  /** Spent and reserved in the given period, after sweeping expired leases. */
  usage(team: string, periodId: string, now: number): Promise<TeamUsage>;
  /** What a key of `team` has spent in the given period of its own budget (0 in a new period). */
  keySpent(team: string, keyId: string, periodId: string): Promise<number>;
  /** A rotated key's spend this period moves to the key that replaced it (added to what that one spent). */
  carryKeySpend(team: string, fromKeyId: string, toKeyId: string): Promise<void>;
  /**
   * An admin changed the period of a budget (the team's: `keyId` null; else that key's): its state
   * takes period id `to` (the new kind's current period), keeping what was spent if it was spent
   * in `from` (the old kind's current period), else starting from zero (./period-carry.ts), and
   * never less than `charged` (what the ledger holds for the new period so far).
   */
  rebasePeriod(team: string, keyId: string | null, from: string, to: string, charged: number): Promise<void>;
  /** Outstanding reservations across all teams (a gauge). */
  outstanding(now: number): Promise<number>;
  /**
   * Adds counts that cost nothing (cache hits, coalesced answers), batched by the caller. When
   * only some rows were written (rows of different teams are separate writes on Redis), it
   * rejects with SavingsNotWritten naming the others, so a retry does not count the rest twice.
   * A row sent again with the same writer and flush number (its reply was lost) is not added
   * again while that flush is remembered (Redis: a day).
   */
  addSavings(rows: SavingsWrite[]): Promise<void>;
  /** Ledger rows with from <= day <= to (YYYY-MM-DD, inclusive). */
  ledger(from: string, to: string): Promise<LedgerRow[]>;
}

/**
 * A savings row as a flush sends it: `writer` (one per process) and `seq` (that writer's flush
 * which first sent it) stay with its counts, unchanged, across retries, so the store applies it once.
 */
export interface SavingsWrite extends SavingsRow {
  writer: string;
  seq: number;
}

/** Some rows of an addSavings batch were not written (the others were): retry these only. */
export class SavingsNotWritten extends Error {
  constructor(
    readonly unwritten: SavingsWrite[],
    override readonly cause: unknown,
  ) {
    super(`${unwritten.length} ledger savings rows were not written`);
  }
}
