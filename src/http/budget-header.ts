// x-gateway-budget-remaining, what a key may still spend, on generate answers. A plain answer
// that went upstream says the figure after its settlement; a hit, a shared answer or a refusal
// this replica's figure for the key, at most a second old. A streamed answer's headers leave
// before its charge is known: the stream that pays says what is left while its estimate is
// held (the real charge can only leave more).
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

/** The figure the paid path left (`known`), else this replica's for the key (a hit, a shared answer, a refusal). */
export async function sharedBudgetHeader(
  quota: Pick<QuotaService, 'remaining'>,
  principal: Principal,
  known?: number | null,
): Promise<BudgetHeader> {
  return budgetHeader(known ?? (await quota.remaining(principal).catch(() => null)));
}
