// Budget periods on calendar boundaries in a configured time zone: which period a moment
// falls in (its id; a new id means spent starts from zero, no job needed) and when it ends.
import type { BudgetPeriod } from '../teams/team-store.js';

export interface PeriodInfo {
  id: string;
  /** ISO time the period ends, or null for `total`. */
  resetsAt: string | null;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallClock(ts: number, timeZone: string): { y: number; m: number; d: number; wallMs: number } {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timeZone, fmt);
  }
  const parts = Object.fromEntries(fmt.formatToParts(ts).map((p) => [p.type, Number(p.value)]));
  const wallMs = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) + (ts % 1000);
  return { y: parts.year, m: parts.month, d: parts.day, wallMs };
}

/** The UTC instant at which the zone's wall clock reads the given date at 00:00. */
function zonedMidnight(y: number, m: number, d: number, timeZone: string): number {
  const wall = Date.UTC(y, m - 1, d);
  let guess = wall;
  for (let i = 0; i < 3; i++) guess = wall - (wallClock(guess, timeZone).wallMs - guess);
  return guess;
}

const pad = (n: number) => String(n).padStart(2, '0');

const TOTAL: PeriodInfo = Object.freeze({ id: 'total', resetsAt: null });

interface KnownPeriod {
  info: PeriodInfo;
  startMs: number;
  endMs: number;
}

/**
 * The period last computed per (period, zone), reused while `now` stays inside it: reading the
 * zone's wall clock takes about 30 µs (Intl), and every reserve and settle asks twice.
 */
const known = new Map<string, KnownPeriod>();

export function periodOf(period: BudgetPeriod, now: number, timeZone = 'UTC'): PeriodInfo {
  if (period === 'total') return TOTAL;
  const name = `${period}\0${timeZone}`;
  let hit = known.get(name);
  if (!hit || now < hit.startMs || now >= hit.endMs) {
    hit = computePeriod(period, now, timeZone);
    known.set(name, hit);
  }
  return hit.info;
}

/** When the period holding `now` began (a UTC instant); 0 for `total`. */
export function periodStart(period: BudgetPeriod, now: number, timeZone = 'UTC'): number {
  if (period === 'total') return 0;
  periodOf(period, now, timeZone);
  return known.get(`${period}\0${timeZone}`)!.startMs;
}

/** The period holding `now`: its id, and its bounds as UTC instants (start inclusive, end exclusive). */
function computePeriod(period: Exclude<BudgetPeriod, 'total'>, now: number, timeZone: string): KnownPeriod {
  const { y, m, d } = wallClock(now, timeZone);
  const at = (first: Date, next: Date, id: string): KnownPeriod => {
    const endMs = zonedMidnight(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timeZone);
    const startMs = zonedMidnight(first.getUTCFullYear(), first.getUTCMonth() + 1, first.getUTCDate(), timeZone);
    return { info: Object.freeze({ id, resetsAt: new Date(endMs).toISOString() }), startMs, endMs };
  };
  if (period === 'day') return at(new Date(Date.UTC(y, m - 1, d)), new Date(Date.UTC(y, m - 1, d + 1)), `day:${y}-${pad(m)}-${pad(d)}`);
  if (period === 'month') return at(new Date(Date.UTC(y, m - 1, 1)), new Date(Date.UTC(y, m, 1)), `month:${y}-${pad(m)}`);
  // ISO weeks start on Monday; the id is the date of that Monday.
  const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
  const monday = new Date(Date.UTC(y, m - 1, d - weekday));
  const nextMonday = new Date(Date.UTC(y, m - 1, d - weekday + 7));
  return at(monday, nextMonday, `week:${monday.getUTCFullYear()}-${pad(monday.getUTCMonth() + 1)}-${pad(monday.getUTCDate())}`);
}

const DAY_MS = 86_400_000;
/** The last day asked for, remembered: every request asks, and formatting a date costs more than the rest of a hit's ledger count. */
const lastDay = { number: NaN, text: '' };

/** The ledger's day (UTC), YYYY-MM-DD. */
export function ledgerDay(now: number): string {
  const day = Math.floor(now / DAY_MS);
  if (day !== lastDay.number) {
    lastDay.text = new Date(day * DAY_MS).toISOString().slice(0, 10);
    lastDay.number = day;
  }
  return lastDay.text;
}
