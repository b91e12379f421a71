// The background poller: runs again after each run ends (never two at once), goes on after
// an error, and stops for good. Driven by fake timers, not the wall clock.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { Poller } from '../src/poller.js';

describe('Poller', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('repeats after each run ends, survives errors, and stops', async () => {
    let runs = 0;
    let running = 0;
    let overlapped = false;
    const errors: unknown[] = [];
    const poller = new Poller(async () => {
      runs++;
      overlapped ||= running > 0;
      running++;
      await new Promise((resolve) => setTimeout(resolve, 50)); // a run longer than nothing
      running--;
      if (runs === 2) throw new Error('store down');
    }, (err) => errors.push(err));

    poller.start(100);
    expect(poller.running).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(150); // 50 ms run + 100 ms pause
    expect(runs).toBe(2);
    await vi.advanceTimersByTimeAsync(150);
    expect(runs).toBe(3);
    expect(errors).toHaveLength(1);
    expect(overlapped).toBe(false);

    poller.stop();
    expect(poller.running).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs).toBe(3);
  });
});

describe('Poller with a start-up backoff', () => {
  it('retries a failing first run after 1 s, 2 s, 4 s ... at most the cap, then keeps the interval', async () => {
    const clock = new ManualClock();
    let up = false;
    let runs = 0;
    const poller = new Poller(async () => {
      runs++;
      if (!up) throw new Error('upstream down');
    }, () => {}, clock);
    poller.start({ intervalMs: 600_000, retryUntilFirstSuccess: { firstMs: 1_000, maxMs: 8_000 } });
    const pauses: number[] = [];
    for (let i = 0; i < 6; i++) {
      clock.advance(clock.pending()[0]);
      await vi.waitFor(() => expect(runs).toBe(i + 1));
      await vi.waitFor(() => expect(clock.pending()).toHaveLength(1));
      pauses.push(clock.pending()[0]);
    }
    expect(pauses).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    up = true;
    clock.advance(8_000);
    await vi.waitFor(() => expect(runs).toBe(7));
    await vi.waitFor(() => expect(clock.pending()).toEqual([600_000]));
    // A failure after the first success waits the interval: the backoff is for start-up only.
    up = false;
    clock.advance(600_000);
    await vi.waitFor(() => expect(runs).toBe(8));
    await vi.waitFor(() => expect(clock.pending()).toEqual([600_000]));
    poller.stop();
    expect(clock.pending()).toEqual([]);
  });
});
