// x-gateway-budget-remaining on a streamed generate answer. Its headers leave before the charge
// is known: the request that pays says what its key may spend while the estimate is held (the
// real charge can only leave more); a shared or replayed answer this replica's figure for the
// key, at most a second old, as a cache hit does.
import type { Principal } from '../auth/authenticator.js';
import type { QuotaService, Reservation } from '../quota/quota-service.js';

export type BudgetHeader = Record<string, string>;

/** The header for a figure already known (none when it is not). */
export const budgetHeader = (remaining: number | null | undefined): BudgetHeader =>
  remaining === null || remaining === undefined ? {} : { 'x-gateway-budget-remaining': String(remaining) };

/** For the stream that pays, while its reservation holds the estimate. */
export function payingBudgetHeader(quota: Pick<QuotaService, 'spendableAfter'>, reservation: Reservation): BudgetHeader {
  return budgetHeader(quota.spendableAfter(reservation, reservation.amount));
}

/** For a stream that pays nothing (a replayed hit, a follower of another request's stream). */
export async function sharedBudgetHeader(quota: Pick<QuotaService, 'remaining'>, principal: Principal): Promise<BudgetHeader> {
  return budgetHeader(await quota.remaining(principal).catch(() => null));
}
