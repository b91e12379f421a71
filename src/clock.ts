// Time as the gateway sees it. Everything that expires, resets or leases reads this clock, and
// background work waits on these timers, so tests inject a fake one and never sleep on
// wall-clock time.
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Runs `run` once after `ms`; the answer cancels it. */
export interface Timers {
  after(ms: number, run: () => void): () => void;
}

/** Real timers, unref'd: a pending background run never keeps the process alive. */
export const systemTimers: Timers = {
  after(ms, run) {
    const timer = setTimeout(run, ms).unref();
    return () => clearTimeout(timer);
  },
};

/** A clock tests move by hand; as Timers, what is due runs when the clock is moved past it. */
export class ManualClock implements Clock, Timers {
  private due: { at: number; run: () => void }[] = [];

  constructor(private current = Date.UTC(2026, 0, 15, 12, 0, 0)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.set(this.current + ms);
  }
  set(ms: number): void {
    this.current = ms;
    for (;;) {
      const next = this.due.filter((entry) => entry.at <= this.current).sort((a, b) => a.at - b.at)[0];
      if (!next) return;
      this.due.splice(this.due.indexOf(next), 1);
      next.run();
    }
  }
  after(ms: number, run: () => void): () => void {
    const entry = { at: this.current + ms, run };
    this.due.push(entry);
    return () => void (this.due = this.due.filter((e) => e !== entry));
  }
  /** When each pending timer fires, in ms from now (soonest first). */
  pending(): number[] {
    return this.due.map((entry) => entry.at - this.current).sort((a, b) => a - b);
  }
}
