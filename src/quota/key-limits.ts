// A request's limits as its key and team set them: what the quota store checks in one step
// (budgets, their periods, rate windows), and how a refusal names the limit that refused it,
// in the contract's 402 and 429 details.
import type { Principal } from '../auth/authenticator.js';
import { errors, type GatewayError } from '../errors.js';
import type { BudgetPeriod } from '../teams/team-store.js';
import { periodOf } from './periods.js';
import type { RateWindow, ReserveInput, ReserveResult } from './quota-store.js';

/** A key's spend counts in its own budget's period, else its team's. */
export function keyPeriod({ team, key }: Principal): BudgetPeriod {
  return key.budget?.period ?? team.budget.period;
}

/** The limits a request with this key must fit, as the store takes them. */
export function limitsOf(principal: Principal, now: number, timezone: string): Pick<ReserveInput, 'budgetTokens' | 'periodId' | 'key' | 'windows'> {
  const { team, key } = principal;
  const windows: RateWindow[] = [];
  for (const [scope, limits] of [['team', team.rate_limit], ['key', key.rate_limit]] as const) {
    for (const limit of ['requests_per_minute', 'tokens_per_minute'] as const) {
      const max = limits?.[limit];
      if (max !== undefined) windows.push({ scope, limit, max });
    }
  }
  return {
    budgetTokens: team.budget.tokens,
    periodId: periodOf(team.budget.period, now, timezone).id,
    key: { id: key.id, budgetTokens: key.budget?.tokens ?? null, periodId: periodOf(keyPeriod(principal), now, timezone).id },
    windows,
  };
}

/** The error for a reserve the store refused: 429 for a rate window, 402 for a budget, naming which. */
export function refusal(
  principal: Principal,
  result: Extract<ReserveResult, { ok: false }>,
  requested: number,
  now: number,
  timezone: string,
): GatewayError {
  const { team, key } = principal;
  if (result.reason === 'rate_limit') {
    const retryAfter = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
    const limitsOfScope = result.scope === 'team' ? team.rate_limit : key.rate_limit;
    return errors.rateLimited(retryAfter, {
      limit: result.limit,
      scope: result.scope,
      team: team.name,
      ...(result.scope === 'key' ? { key: key.id } : {}),
      [result.limit]: limitsOfScope?.[result.limit] ?? null,
    });
  }
  const budget = result.scope === 'team' ? team.budget : key.budget!;
  const period = periodOf(budget.period, now, timezone);
  return errors.insufficientTokens(
    result.scope === 'team'
      ? `Team ${team.name} has not enough budget left for this request`
      : `Key ${key.id} has not enough budget left for this request`,
    {
      scope: result.scope,
      team: team.name,
      ...(result.scope === 'key' ? { key: key.id } : {}),
      budget: budget.tokens,
      period: budget.period,
      spent: result.spent,
      reserved: result.reserved,
      remaining: Math.max(0, budget.tokens - result.spent - result.reserved),
      requested,
      resets_at: period.resetsAt,
    },
  );
}
