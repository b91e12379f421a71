// Background work that repeats: each run starts `intervalMs` after the previous one ended
// (never two at once), errors go to `onError` and the polling goes on, until stop(). Timers
// are unref'd: a poll never keeps the process alive.
export class Poller {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly task: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(intervalMs: number, firstDelayMs = 0): void {
    const tick = () =>
      this.task()
        .catch(this.onError)
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, intervalMs).unref();
        });
    this.timer = setTimeout(tick, firstDelayMs).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
