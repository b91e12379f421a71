// Background work that repeats: each run starts `intervalMs` after the previous one ended
// (never two at once), errors go to `onError` and the polling goes on, until stop(). Given a
// retry backoff, a failed run is retried sooner until a first run succeeds (an upstream not
// up yet at start must not leave the gateway without its data for a whole interval).
import { systemTimers, type Timers } from './clock.js';

export interface PollerSchedule {
  /** Pause between runs once one has succeeded. */
  intervalMs: number;
  /** Delay of the first run; default 0. */
  firstDelayMs?: number;
  /** Until the first success, a failed run is retried after `firstMs`, doubling, at most `maxMs`; none: after `intervalMs`. */
  retryUntilFirstSuccess?: { firstMs: number; maxMs: number };
}

/** What the upstream reads (catalog, balance) retry with until they first succeed: 1 s, 2 s, 4 s ... 30 s. */
export const UNTIL_UPSTREAM_ANSWERS = { firstMs: 1_000, maxMs: 30_000 };

export class Poller {
  private cancel: (() => void) | undefined;

  constructor(
    private readonly task: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
    private readonly timers: Timers = systemTimers,
  ) {}

  get running(): boolean {
    return this.cancel !== undefined;
  }

  /** A number is the interval, with the first run at once or after `firstDelayMs`. */
  start(schedule: PollerSchedule | number, firstDelayMs = 0): void {
    const plan: PollerSchedule = typeof schedule === 'number' ? { intervalMs: schedule, firstDelayMs } : schedule;
    const { intervalMs, retryUntilFirstSuccess: retry } = plan;
    let succeeded = !retry; // without a backoff, every pause is the interval
    let retryMs = retry?.firstMs ?? intervalMs;
    const tick = () =>
      this.task()
        .then(
          () => void (succeeded = true),
          (err: unknown) => this.onError(err),
        )
        .finally(() => {
          if (!this.cancel) return; // stopped meanwhile
          const pause = succeeded ? intervalMs : Math.min(retryMs, intervalMs);
          if (!succeeded) retryMs = Math.min(retryMs * 2, retry?.maxMs ?? intervalMs);
          this.cancel = this.timers.after(pause, tick);
        });
    this.cancel = this.timers.after(plan.firstDelayMs ?? 0, tick);
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }
}
