// The usage ledger's shape: counters aggregated per (day, team, model, key), written by settlement
// (charges, atomically with the budget) and by the savings batch (hits, coalesced answers).
// Both store backends, the usage report and the CLI read these names from here.

/** Ledger counters, aggregated per (day, team, model, key). */
export interface LedgerCounters {
  requests: number;
  tokens_spent: number;
  tokens_saved: number;
  hits: number;
  coalesced: number;
  rejections: number;
  failures: number;
  outcome_unknown: number;
}

/** Where a ledger count lands: day, team, model and key ('' when none). */
export interface LedgerPlace {
  team: string;
  key: string;
  model: string;
  day: string;
}

export interface LedgerRow extends LedgerCounters {
  day: string; // YYYY-MM-DD (UTC)
  team: string;
  model: string;
  /** The key's id, or '' for counts made before keys were recorded. */
  key: string;
}

/** Counts that cost nothing (cache hits, coalesced answers), batched by ./savings.ts. */
export interface SavingsRow {
  team: string;
  key: string;
  model: string;
  day: string;
  hits: number;
  coalesced: number;
  tokens_saved: number;
}

export const COUNTERS = [
  'requests', 'tokens_spent', 'tokens_saved', 'hits', 'coalesced', 'rejections', 'failures', 'outcome_unknown',
] as const satisfies ReadonlyArray<keyof LedgerCounters>;

export function emptyCounters(): LedgerCounters {
  return Object.fromEntries(COUNTERS.map((c) => [c, 0])) as unknown as LedgerCounters;
}
