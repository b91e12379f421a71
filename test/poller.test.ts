// The background poller: runs again after each run ends (never two at once), goes on after
// an error, and stops for good. Driven by fake timers, not the wall clock.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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
