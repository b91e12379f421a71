// Keeps a failing shared cache store from slowing every request: each call is bounded by a
// timeout (a slow store counts as a failed one), and after a failure the store is left alone
// for a while. The cache fails soft: the guard reports, it never fails a request by itself.

/** After a store error, the store is left alone this long, so an outage does not slow every request. */
const BACKOFF_MS = 1_000;

export class StoreGuard {
  private downUntil = 0;

  constructor(
    private readonly timeoutMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** False while the store is failing (and left alone). */
  get available(): boolean {
    return performance.now() >= this.downUntil;
  }

  /** A failed call: backs off and reports (the report is throttled downstream). */
  fail(err: unknown): void {
    this.downUntil = performance.now() + BACKOFF_MS;
    this.onError(err);
  }

  /** `work` bounded by the timeout. */
  timed<T>(work: Promise<T>): Promise<T> {
    const ms = this.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`cache store did not answer within ${ms} ms`)), ms);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }
}
