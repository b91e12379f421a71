// Quotas on the request path: estimates a request's cost, reserves it against the team's
// budget and the account's balance floor before anything goes upstream, and settles it with
// what upstream charged. What happens when the store is down is configured, never accidental.
import type { Catalog } from '../catalog/catalog.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { errors } from '../errors.js';
import type { Principal } from '../auth/authenticator.js';
import type { BudgetPeriod, Team } from '../teams/team-store.js';
import type { AccountBalance } from './account-balance.js';
import type { AccountStore } from './account-store.js';
import { ledgerDay, periodOf, periodStart } from './periods.js';
import { keyPeriod, limitsOf, refusal } from './key-limits.js';
import type { LimitScope, QuotaStore, SettleOutcome } from './quota-store.js';
import { reservationId } from './reservation-id.js';

export interface Reservation {
  id: string;
  team: string;
  model: string;
  amount: number;
  /** The team's budget period when reserved; settlement lands in the period current then. */
  period: Team['budget']['period'];
  /** False when the store was unreachable and quota.on_store_error let the request through. */
  held: boolean;
  /** The key it was made with and the period its spend counts in (absent in jobs recorded before keys were). */
  key?: { id: string; period: BudgetPeriod } | null;
  /** Scopes whose tokens_per_minute window counted the estimate, corrected at settlement. */
  tokenWindows?: LimitScope[];
  /** Room under the tightest token limit right after reserving (null: none applies). */
  left?: number | null;
}

export interface TeamBudgetView {
  budget: number;
  period: Team['budget']['period'];
  spent: number;
  reserved: number;
  remaining: number;
  resets_at: string | null;
}

/** Budget periods, shortest first. */
const PERIOD_LENGTH: BudgetPeriod[] = ['day', 'week', 'month', 'total'];

/** How long a key's last seen remaining figure answers a cache hit's header. */
const REMAINING_FRESH_MS = 1_000;

export class QuotaService {
  private readonly lastRemaining = new Map<string, { value: number; at: number }>();

  constructor(
    private readonly store: QuotaStore,
    private readonly catalog: Catalog,
    private readonly balance: AccountBalance,
    private readonly account: AccountStore,
    private readonly config: Config['quota'],
    private readonly clock: Clock,
    private readonly onStoreError: (err: unknown) => void,
  ) {}

  /** Tokens to reserve: a configured override, else the top of the catalog's price range, else the default. */
  estimate(model: string): number {
    // Own keys only: `estimates.constructor` is Object's, and a model may be named anything.
    if (Object.hasOwn(this.config.estimates, model)) return this.config.estimates[model];
    const info = this.catalog.get(model);
    return info ? Math.max(info.max_token_cost, info.token_cost) : this.config.default_estimate;
  }

  private period(team: Pick<Team, 'budget'>) {
    return periodOf(team.budget.period, this.clock.now(), this.config.timezone);
  }

  /**
   * Reserves `amount` for a request with this key: it must fit the account floor, the
   * request ceiling, and, in one atomic store step, the team's and the key's budgets and rate
   * windows. A refusal reserves nothing and never reaches upstream.
   */
  async reserve(principal: Principal, model: string, amount: number): Promise<Reservation> {
    const { team, key } = principal;
    const now = this.clock.now();
    const limits = limitsOf(principal, now, this.config.timezone);
    const reservation: Reservation = {
      id: reservationId(now),
      team: team.name,
      model,
      amount,
      period: team.budget.period,
      held: true,
      key: { id: key.id, period: keyPeriod(principal) },
      tokenWindows: limits.windows.filter((w) => w.limit === 'tokens_per_minute').map((w) => w.scope),
    };
    const at = { team: team.name, key: key.id, model, day: ledgerDay(now) };
    const ceiling = Math.min(team.max_tokens_per_request ?? Infinity, key.max_tokens_per_request ?? Infinity);
    let accountHeld = false;
    try {
      if (amount > ceiling) {
        await this.store.countRejection(at);
        throw errors.insufficientTokens(`This request may cost up to ${amount} tokens, above the ${ceiling} allowed per request`, {
          scope: 'request',
          requested: amount,
          max_tokens_per_request: ceiling,
        });
      }
      // The account first (held across replicas, ./account-store.ts), then the team and key; a
      // refusal there gives the account hold back. Nothing is charged before both hold.
      const account = await this.account.reserve(reservation.id, amount, this.config.account_floor, this.config.lease_ms, now);
      if (!account.ok) {
        await this.store.countRejection(at);
        throw errors.insufficientTokens('The account balance cannot cover this request', {
          scope: 'account',
          requested: amount,
          remaining: Math.max(0, account.spendable),
        });
      }
      accountHeld = true;
      const result = await this.store.reserve({ team: team.name, reservationId: reservation.id, amount, leaseMs: this.config.lease_ms, model, day: at.day, now, ...limits });
      if (result.ok) return { ...reservation, left: result.left };
      await this.releaseAccount(reservation.id);
      accountHeld = false;
      throw refusal(principal, result, amount, now, this.config.timezone);
    } catch (err) {
      if ((err as { name?: string }).name === 'GatewayError') throw err;
      if (accountHeld) await this.releaseAccount(reservation.id);
      this.onStoreError(err);
      if (this.config.on_store_error === 'allow') return { ...reservation, held: false };
      throw errors.storeUnavailable(err);
    }
  }

  /**
   * Settles with what upstream charged (0 for failed or errors). Returns false when already
   * settled. With `generationId`, the reservation's team may poll it, granted in the same step.
   */
  async settle(reservation: Reservation, actual: number, outcome: SettleOutcome, generationId?: string | null): Promise<boolean> {
    const now = this.clock.now();
    const settled = await this.store.settle({
      team: reservation.team,
      reservationId: reservation.id,
      actual,
      outcome,
      periodId: periodOf(reservation.period, now, this.config.timezone).id,
      model: reservation.model,
      day: ledgerDay(now),
      now,
      key: reservation.key ? { id: reservation.key.id, periodId: periodOf(reservation.key.period, now, this.config.timezone).id } : null,
      tokenWindows: reservation.tokenWindows ?? [],
      grant: generationId ? { generationId, team: reservation.team } : undefined,
    });
    if (settled) {
      // The ledger above is the money's record; the account hold only guards the floor: a
      // failure here leaves the hold to its lease and the balance to the next reading. Not
      // awaited: the hold keeps guarding until it lands, and on Redis it shares a round trip
      // with the request's next command (the cache write; auto-pipelining).
      void this.account.settle(reservation.id, actual, now).catch(this.onStoreError);
      if (actual > 0) this.balance.spent(actual, this.onStoreError);
    }
    return settled;
  }

  /** Gives an account hold back (the team refused, or its store failed); a failure leaves it to its lease. */
  private releaseAccount(id: string): Promise<void> {
    return this.account.settle(id, 0, this.clock.now()).catch(this.onStoreError);
  }

  /**
   * A budget's period changed from `from` to `to`, for the team's (`null` among `keys`) and each
   * key's own or inherited budget given: its spend in the period current now carries into the new
   * kind's current one. With `from` equal to `to` (a team created again) a spend left from another
   * kind carries too.
   */
  async rebase(team: string, keys: Array<string | null>, from: BudgetPeriod, to: BudgetPeriod): Promise<void> {
    if (keys.length === 0) return;
    const now = this.clock.now();
    const id = (period: BudgetPeriod) => periodOf(period, now, this.config.timezone).id;
    // A longer period (day to month) also holds what was charged earlier in it: the ledger's
    // days since its start (whole UTC days: in another zone a few hours more, never less). A
    // shorter or the same one holds no more than the spend kept: the ledger is not read.
    const longer = PERIOD_LENGTH.indexOf(to) > PERIOD_LENGTH.indexOf(from);
    const rows = longer ? await this.store.ledger(ledgerDay(periodStart(to, now, this.config.timezone)), ledgerDay(now)) : [];
    for (const keyId of keys) {
      const charged = rows.reduce((sum, r) => (r.team === team && (keyId === null || r.key === keyId) ? sum + r.tokens_spent : sum), 0);
      await this.store.rebasePeriod(team, keyId, id(from), id(to), charged);
    }
  }

  /** Keeps the reservation of a job still running upstream, and its account hold. */
  async keepPending(reservation: Reservation): Promise<void> {
    const now = this.clock.now();
    const lease = this.config.pending_lease_ms;
    await Promise.all([this.store.extend(reservation.team, reservation.id, lease, now), this.account.extend(reservation.id, lease, now)]);
  }

  /** Upstream may or may not have done the work: keep the reservation until a poll or the lease decides. */
  async outcomeUnknown(reservation: Reservation): Promise<void> {
    await this.store.markUnknown({
      team: reservation.team, key: reservation.key?.id ?? '', model: reservation.model, day: ledgerDay(this.clock.now()),
    });
  }

  async view(team: Team): Promise<TeamBudgetView> {
    const period = this.period(team);
    const usage = await this.store.usage(team.name, period.id, this.clock.now());
    return {
      budget: team.budget.tokens,
      period: team.budget.period,
      spent: usage.spent,
      reserved: usage.reserved,
      remaining: Math.max(0, team.budget.tokens - usage.spent - usage.reserved),
      resets_at: period.resetsAt,
    };
  }

  /**
   * What this key may still spend now: the tightest of its team's and its own budgets and
   * token windows, never more than the account holds above its floor.
   */
  async spendable(principal: Principal): Promise<number> {
    const now = this.clock.now();
    const room = await this.store.room({ team: principal.team.name, now, ...limitsOf(principal, now, this.config.timezone) });
    return this.capped(room ?? Infinity);
  }

  /** What the key may still spend after this reservation settled at `actual` (the reserve's figure, refunded). */
  spendableAfter(reservation: Reservation, actual: number): number | null {
    if (reservation.left === undefined || !reservation.held || !reservation.key) return null;
    const value = this.capped((reservation.left ?? Infinity) + reservation.amount - actual);
    this.remember(reservation.key.id, value);
    return value;
  }

  /**
   * `spendable` for answers that spent nothing (cache hits, shared answers): the figure this
   * replica last saw for the key, if under REMAINING_FRESH_MS old, so a hit costs no store call.
   */
  async remaining(principal: Principal): Promise<number> {
    const seen = this.lastRemaining.get(principal.key.id);
    if (seen && this.clock.now() - seen.at < REMAINING_FRESH_MS) return seen.value;
    const value = await this.spendable(principal);
    this.remember(principal.key.id, value);
    return value;
  }

  private remember(keyId: string, value: number): void {
    if (this.lastRemaining.size >= 10_000) this.lastRemaining.clear();
    this.lastRemaining.set(keyId, { value, at: this.clock.now() });
  }

  private capped(room: number): number {
    const account = this.balance.tokens === null ? Infinity : this.balance.tokens - this.config.account_floor;
    const value = Math.max(0, Math.min(room, account));
    return Number.isFinite(value) ? value : 0;
  }
}
