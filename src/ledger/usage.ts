// Reading the durable ledger: a usage query (range of UTC days, grouping by any of team,
// model, day, key, optionally one team's or one key's rows), the rows summed per group, and
// CSV that opens as CSV (header row, RFC 4180 quoting). GET /admin/usage and the CLI's
// `usage` serve it; it never reaches upstream and names a key only by its id and label.
import { errors } from '../errors.js';
import { ledgerDay } from '../quota/periods.js';
import { COUNTERS, emptyCounters, type LedgerCounters, type LedgerRow } from './counters.js';

export const GROUP_KEYS = ['team', 'model', 'day', 'key'] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

export type UsageRow = Partial<Record<GroupKey, string>> & { key_label?: string | null } & LedgerCounters & {
  hit_ratio: number | null;
};

export interface UsageQuery {
  from: string;
  to: string;
  groupBy: GroupKey[];
  format: 'json' | 'csv';
  /** Only this team's, or this key's, rows. */
  team?: string;
  key?: string;
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

export function isDay(value: string): boolean {
  if (!DAY_RE.test(value)) return false;
  const [y, m, d] = value.split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** The current UTC month, first to last day: the default range. */
export function currentMonth(now: number): { from: string; to: string } {
  const today = new Date(now);
  const last = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 1, 0));
  return { from: `${ledgerDay(now).slice(0, 7)}-01`, to: ledgerDay(last.getTime()) };
}

export type RawQuery = Record<string, string | string[] | undefined>;

export function param(query: RawQuery, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || typeof value === 'string') return value;
  throw errors.validation(`${name} is given more than once`, { fields: { [name]: 'once' } });
}

/** GET /admin/usage's query as fastify validated it against its schema (src/admin/schemas.ts). */
export interface UsageQuerystring {
  from?: string;
  to?: string;
  group_by?: string;
  team?: string;
  key?: string;
  format?: 'json' | 'csv';
}

/** `group_by` as its schema takes it: a comma-separated subset of GROUP_KEYS, spaces and empty items allowed. */
export const GROUP_BY_PATTERN = `^\\s*(?:(?:${GROUP_KEYS.join('|')})\\s*)?(?:,\\s*(?:(?:${GROUP_KEYS.join('|')})\\s*)?)*$`;

/**
 * The usage query from a validated querystring: the current month by default, grouped by team.
 * What the schema cannot say, that `from` is not after `to`, is checked here.
 */
export function usageQuery(query: UsageQuerystring, now: number): UsageQuery {
  const month = currentMonth(now);
  const from = query.from || month.from;
  const to = query.to || month.to;
  if (from > to) throw errors.validation('from must not be after to', { fields: { from, to } });
  const words = (query.group_by ?? 'team').split(',').map((w) => w.trim()).filter(Boolean) as GroupKey[];
  return { from, to, groupBy: [...new Set(words)], format: query.format || 'json', team: query.team || undefined, key: query.key || undefined };
}

/** Share of requests answered without spending (cache hits and coalesced answers). */
function hitRatio(c: LedgerCounters): number | null {
  return c.requests > 0 ? Math.round(((c.hits + c.coalesced) / c.requests) * 10_000) / 10_000 : null;
}

/** Sums ledger rows per group; rows come out sorted by the group columns in the order given. */
export function aggregate(rows: LedgerRow[], groupBy: GroupKey[]): { rows: UsageRow[]; totals: UsageRow } {
  const groups = new Map<string, { keys: Partial<Record<GroupKey, string>>; sums: LedgerCounters }>();
  const totals = emptyCounters();
  for (const row of rows) {
    const keys = Object.fromEntries(groupBy.map((k) => [k, row[k]])) as Partial<Record<GroupKey, string>>;
    const id = JSON.stringify(groupBy.map((k) => row[k]));
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { keys, sums: emptyCounters() }));
    for (const c of COUNTERS) {
      const value = Number(row[c]) || 0;
      group.sums[c] += value;
      totals[c] += value;
    }
  }
  const out = [...groups.values()].map(({ keys, sums }) => ({ ...keys, ...sums, hit_ratio: hitRatio(sums) }));
  out.sort((a, b) => {
    for (const k of groupBy) {
      const cmp = (a[k] ?? '') < (b[k] ?? '') ? -1 : (a[k] ?? '') > (b[k] ?? '') ? 1 : 0;
      if (cmp !== 0) return cmp;
    }
    return 0;
  });
  return { rows: out, totals: { ...totals, hit_ratio: hitRatio(totals) } };
}

/** One RFC 4180 field. Text a spreadsheet would run as a formula gets a leading `'`. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: UsageRow[], groupBy: GroupKey[]): string {
  const columns: Array<keyof UsageRow> = [];
  for (const k of groupBy) columns.push(...(k === 'key' ? (['key', 'key_label'] as const) : [k]));
  columns.push(...COUNTERS, 'hit_ratio');
  const lines = [columns.join(','), ...rows.map((row) => columns.map((c) => csvField(row[c])).join(','))];
  return lines.join('\r\n') + '\r\n';
}

/**
 * The ledger over the query's days (one team's or key's rows if it names one), summed per its
 * groups; grouped by key, each row also names the key's label, from `keyLabels`.
 */
export async function readUsage(
  store: { ledger(from: string, to: string): Promise<LedgerRow[]> },
  query: UsageQuery,
  keyLabels: () => Promise<Map<string, string | null>>,
): Promise<{ rows: UsageRow[]; totals: UsageRow }> {
  const ledger = (await store.ledger(query.from, query.to)).filter(
    (row) => (!query.team || row.team === query.team) && (!query.key || row.key === query.key),
  );
  const out = aggregate(ledger, query.groupBy);
  if (query.groupBy.includes('key')) {
    // Counts from before keys were recorded have key ''.
    const labels = await keyLabels();
    for (const row of out.rows) row.key_label = labels.get(row.key ?? '') ?? null;
  }
  return out;
}
