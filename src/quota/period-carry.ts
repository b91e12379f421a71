// When spend recorded in one budget period still counts in another. A later period of the same
// kind (the next day, week, month) starts from zero; anything else carries the spend: a write
// with an earlier id (a replica's clock behind) never resets a later period, nor one of another
// kind (a replica that has not yet seen an admin's change of period; the store was rebased to
// the new kind by that change, keeping what was spent in the period current then).
// The same rule runs in the Redis scripts (LUA below) and in the SQLite store (SQL below).

/** A period id's kind: `day:`, `week:`, `month:`, or '' for `total`. */
const kind = (id: string) => id.slice(0, id.indexOf(':') + 1);

/** Whether `current` is a new period of the same kind as `stored` (its spend starts from zero). */
export function isLaterPeriod(stored: string, current: string): boolean {
  return current > stored && kind(current) === kind(stored);
}

/** Spend stored under `stored` (undefined: none) as it counts in `current`. */
export function spendIn(stored: string | undefined, spent: number, current: string): number {
  return stored === undefined || !isLaterPeriod(stored, current) ? spent : 0;
}

/**
 * The id a reserve or a settlement leaves: its own when it is a later period of the same kind
 * (or nothing is stored), else the stored one. A change of kind is made by `rebase` when an
 * admin changes the period, never by a request: a replica still on the old period for a moment
 * carries the spend and leaves the new kind in place.
 */
export function periodAfter(stored: string | undefined, current: string): string {
  return stored === undefined || isLaterPeriod(stored, current) ? current : stored;
}

/** SQL for "`id` is a later period of the same kind than `than`" (ids are SQL expressions). */
export const laterPeriodSql = (id: string, than: string) =>
  `(${id} > ${than} AND substr(${id}, 1, instr(${id}, ':')) = substr(${than}, 1, instr(${than}, ':')))`;

/** The same rule for the Redis scripts: `later`, `spendIn`, `periodAfter`. */
export const periodCarryLua = `
local function pkind(id) return string.match(id, '^[^:]*:') or '' end
local function later(stored, current) return current > stored and pkind(current) == pkind(stored) end
-- Spend stored under 'stored' (nil: none) as it counts in 'current'.
local function spendIn(stored, spent, current)
  if stored and later(stored, current) then return 0 end
  return spent
end
local function periodAfter(stored, current)
  if not stored or later(stored, current) then return current end
  return stored
end
`;
