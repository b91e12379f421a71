// Quotas on the request path: estimates a request's cost, reserves it against the team's
// budget and the account's balance floor before anything goes upstream, and settles it with
// what upstream charged. What happens when the store is down is configured, never accidental.
import type { Catalog } from '../catalog/catalog.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { errors } from '../errors.js';
import type { Team } from '../teams/team-store.js';
import type { AccountBalance } from './account-balance.js';
import type { AccountStore } from './account-store.js';
import { ledgerDay, periodOf } from './periods.js';
import type { QuotaStore, SettleOutcome } from './quota-store.js';
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
}

export interface TeamBudgetView {
  budget: number;
  period: Team['budget']['period'];
  spent: number;
  reserved: number;
  remaining: number;
  resets_at: string | null;
}

export class QuotaService {
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
    const override = this.config.estimates[model];
    if (override !== undefined) return override;
    const info = this.catalog.get(model);
    return info ? Math.max(info.max_token_cost, info.token_cost) : this.config.default_estimate;
  }

  private period(team: Pick<Team, 'budget'>) {
    return periodOf(team.budget.period, this.clock.now(), this.config.timezone);
  }

  async reserve(team: Team, model: string, amount: number): Promise<Reservation> {
    const now = this.clock.now();
    const reservation: Reservation = {
      id: reservationId(now),
      team: team.name,
      model,
      amount,
      period: team.budget.period,
      held: true,
    };
    let accountHeld = false;
    try {
      // The account first (held across replicas, ./account-store.ts), then the team; a team
      // refusal gives the account hold back. Nothing is charged before both hold.
      const account = await this.account.reserve(reservation.id, amount, this.config.account_floor, this.config.lease_ms, now);
      if (!account.ok) {
        await this.store.countRejection({ team: team.name, model, day: ledgerDay(now) });
        throw errors.insufficientTokens('The account balance cannot cover this request', {
          scope: 'account',
          requested: amount,
          remaining: Math.max(0, account.spendable),
        });
      }
      accountHeld = true;
      const period = this.period(team);
      const result = await this.store.reserve({
        team: team.name,
        reservationId: reservation.id,
        amount,
        budgetTokens: team.budget.tokens,
        periodId: period.id,
        leaseMs: this.config.lease_ms,
        requestsPerMinute: team.rate_limit?.requests_per_minute ?? null,
        model,
        day: ledgerDay(now),
        now,
      });
      if (result.ok) return reservation;
      await this.releaseAccount(reservation.id);
      accountHeld = false;
      if (result.reason === 'rate_limit') {
        const retryAfter = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
        throw errors.rateLimited(retryAfter, {
          team: team.name,
          requests_per_minute: team.rate_limit?.requests_per_minute ?? null,
        });
      }
      throw errors.insufficientTokens(`Team ${team.name} has not enough budget left for this request`, {
        scope: 'team',
        team: team.name,
        budget: team.budget.tokens,
        period: team.budget.period,
        spent: result.spent,
        reserved: result.reserved,
        remaining: Math.max(0, team.budget.tokens - result.spent - result.reserved),
        requested: amount,
        resets_at: period.resetsAt,
      });
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
      grant: generationId ? { generationId, team: reservation.team } : undefined,
    });
    if (settled) {
      // The ledger above is the money's record; the account hold only guards the floor: a
      // failure here leaves the hold to its lease and the balance to the next reading.
      await this.account.settle(reservation.id, actual, now).catch(this.onStoreError);
      if (actual > 0) this.balance.spent(actual, this.onStoreError);
    }
    return settled;
  }

  /** Gives an account hold back (the team refused, or its store failed); a failure leaves it to its lease. */
  private releaseAccount(id: string): Promise<void> {
    return this.account.settle(id, 0, this.clock.now()).catch(this.onStoreError);
  }

  /** Keeps the reservation of a job still running upstream, and its account hold. */
  async keepPending(reservation: Reservation): Promise<void> {
    const now = this.clock.now();
    const lease = this.config.pending_lease_ms;
    await Promise.all([this.store.extend(reservation.team, reservation.id, lease, now), this.account.extend(reservation.id, lease, now)]);
  }

  /** Upstream may or may not have done the work: keep the reservation until a poll or the lease decides. */
  async outcomeUnknown(reservation: Reservation): Promise<void> {
    await this.store.markUnknown({ team: reservation.team, model: reservation.model, day: ledgerDay(this.clock.now()) });
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

  /** What the team may still spend now: its budget left, never more than the account above its floor. */
  async spendable(team: Team): Promise<number> {
    const { remaining } = await this.view(team);
    const account = this.balance.tokens;
    return account === null ? remaining : Math.max(0, Math.min(remaining, account - this.config.account_floor));
  }
}
