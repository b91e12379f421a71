// The X-RateLimit-* headers every generate response carries: hourly and daily request counts
// per plan that count down per call on the simulator clock. Never enforced; a 429 only comes
// from an injected fault.

const LIMITS: Record<string, { hour: number; day: number }> = {
  free: { hour: 10, day: 50 },
  basic: { hour: 30, day: 300 },
  pro: { hour: 60, day: 600 },
  vip: { hour: 100, day: 1000 },
  // The docs say Elite is unlimited; the simulator reports large caps instead.
  elite: { hour: 100_000, day: 1_000_000 },
};

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export class RateLimits {
  readonly limitHour: number;
  readonly limitDay: number;
  private hourSlot = -1;
  private daySlot = -1;
  private usedHour = 0;
  private usedDay = 0;

  constructor(readonly plan: string, private readonly now: () => number) {
    const l = LIMITS[plan] ?? LIMITS.vip;
    this.limitHour = l.hour;
    this.limitDay = l.day;
  }

  private roll(): number {
    const t = this.now();
    const h = Math.floor(t / HOUR);
    const d = Math.floor(t / DAY);
    if (h !== this.hourSlot) [this.hourSlot, this.usedHour] = [h, 0];
    if (d !== this.daySlot) [this.daySlot, this.usedDay] = [d, 0];
    return t;
  }

  /** Count one call and return the headers for its response. */
  hit(): Record<string, string> {
    this.roll();
    this.usedHour++;
    this.usedDay++;
    return this.headers();
  }

  remainingHour(): number {
    this.roll();
    return Math.max(0, this.limitHour - this.usedHour);
  }

  remainingDay(): number {
    this.roll();
    return Math.max(0, this.limitDay - this.usedDay);
  }

  /** Seconds until the hourly window resets. */
  retryAfter(): number {
    const t = this.roll();
    return Math.max(1, Math.ceil(((this.hourSlot + 1) * HOUR - t) / 1000));
  }

  headers(exhausted = false): Record<string, string> {
    this.roll();
    return {
      'x-ratelimit-limit-hour': String(this.limitHour),
      'x-ratelimit-remaining-hour': String(exhausted ? 0 : this.remainingHour()),
      'x-ratelimit-limit-day': String(this.limitDay),
      'x-ratelimit-remaining-day': String(exhausted ? 0 : this.remainingDay()),
      'x-ratelimit-reset-hour': String(((this.hourSlot + 1) * HOUR) / 1000),
    };
  }

  reset(): void {
    this.usedHour = this.usedDay = 0;
  }
}
