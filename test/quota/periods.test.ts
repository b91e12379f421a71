// Budget periods: a period is remembered while the clock stays inside it, so the answer must
// not depend on what was asked before. Moments visited in time order and in a shuffled order
// (so the remembered period is hit, missed, and crossed backwards) get the same periods, and
// each period's bounds are where the zone's calendar says.
import { describe, expect, it } from 'vitest';
import { periodOf } from '../../src/quota/periods.js';

const ZONES = ['UTC', 'America/New_York', 'Europe/Moscow', 'Asia/Kathmandu', 'Australia/Lord_Howe'];
const PERIODS = ['day', 'week', 'month'] as const;

/** Every 4 h 13 min 7 s over 14 months (every hour of the day in turn): both DST changes of each zone, month and year ends. */
function moments(): number[] {
  const out: number[] = [];
  for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 2, 1); t += 15_187_000) out.push(t);
  return out;
}

/** A fixed shuffle (no Math.random: the test must be the same every run). */
function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  let seed = 42;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('periodOf', () => {
  it.each(ZONES)('gives the same period in time order and shuffled (%s)', (zone) => {
    for (const period of PERIODS) {
      const inOrder = new Map(moments().map((t) => [t, periodOf(period, t, zone)]));
      for (const t of shuffled(moments())) expect(periodOf(period, t, zone)).toEqual(inOrder.get(t));
    }
  });

  it('ends each period at the zone midnight that starts the next', () => {
    const t = Date.UTC(2026, 2, 8, 7); // 02:00 New York, the night its clocks go forward
    expect(periodOf('day', t, 'America/New_York')).toEqual({ id: 'day:2026-03-08', resetsAt: '2026-03-09T04:00:00.000Z' });
    expect(periodOf('month', t, 'America/New_York')).toEqual({ id: 'month:2026-03', resetsAt: '2026-04-01T04:00:00.000Z' });
    expect(periodOf('week', t, 'Asia/Kathmandu')).toEqual({ id: 'week:2026-03-02', resetsAt: '2026-03-08T18:15:00.000Z' });
    // The first moment of a period belongs to it, the last to the one before.
    const reset = Date.parse('2026-03-09T04:00:00.000Z');
    expect(periodOf('day', reset - 1, 'America/New_York').id).toBe('day:2026-03-08');
    expect(periodOf('day', reset, 'America/New_York').id).toBe('day:2026-03-09');
    expect(periodOf('total', t, 'UTC')).toEqual({ id: 'total', resetsAt: null });
  });
});
