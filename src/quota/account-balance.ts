// The account's upstream token balance as last seen: read at start, refreshed periodically
// and soon after spending, lowered locally by each settlement in between, and set to zero
// on an upstream 402. Each reading (and a 402) also goes to the shared AccountStore, where
// every replica's requests are held against the floor (./account-store.ts).
import { systemTimers, type Clock, type Timers } from '../clock.js';
import { Poller, UNTIL_UPSTREAM_ANSWERS } from '../poller.js';
import type { UpstreamClient } from '../upstream/client.js';
import type { AccountStore } from './account-store.js';

export interface BalanceSnapshot {
  token_balance: number | null;
  plan: string | null;
  plan_expires_at: string | null;
  seen_at: string | null;
}

/** After spending, the next refresh waits at least this long: one read serves many requests. */
const REFRESH_DEBOUNCE_MS = 5_000;

export class AccountBalance {
  private balance: number | null = null;
  private plan: string | null = null;
  private planExpiresAt: string | null = null;
  private seenAt: number | null = null;
  private poller: Poller | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | null = null;

  constructor(
    private readonly upstream: UpstreamClient,
    private readonly clock: Clock,
    private readonly account: AccountStore,
    private readonly onStoreError: (err: unknown) => void,
    private readonly timers: Timers = systemTimers,
  ) {}

  snapshot(): BalanceSnapshot {
    return {
      token_balance: this.balance,
      plan: this.plan,
      plan_expires_at: this.planExpiresAt,
      seen_at: this.seenAt === null ? null : new Date(this.seenAt).toISOString(),
    };
  }

  get known(): boolean {
    return this.balance !== null;
  }

  get tokens(): number | null {
    return this.balance;
  }

  /** Reads GET /api/v2/balance; concurrent callers share one call. */
  refresh(): Promise<void> {
    this.inflight ??= (async () => {
      try {
        // Settlements from the mark on may not be in upstream's answer yet: the store subtracts them.
        const mark = await this.account.mark().catch((err: unknown) => void this.onStoreError(err));
        const res = await this.upstream.read('GET', '/api/v2/balance');
        if (res.status !== 200) throw new Error(`balance: upstream answered ${res.status}`);
        const body = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
        if (typeof body.token_balance === 'number') {
          this.balance = body.token_balance;
          if (mark !== undefined) await this.account.observe(body.token_balance, mark).catch(this.onStoreError);
        }
        this.plan = typeof body.plan === 'string' ? body.plan : null;
        this.planExpiresAt = typeof body.plan_expires_at === 'string' ? body.plan_expires_at : null;
        this.seenAt = this.clock.now();
      } finally {
        this.inflight = null;
      }
    })();
    return this.inflight;
  }

  start(intervalMs: number, onError: (err: unknown) => void): void {
    this.poller = new Poller(() => this.refresh(), onError, this.timers);
    this.poller.start({ intervalMs, retryUntilFirstSuccess: UNTIL_UPSTREAM_ANSWERS });
  }

  stop(): void {
    this.poller?.stop();
    clearTimeout(this.refreshTimer);
  }

  /** Tokens were spent: lower the local view now and re-read upstream soon. */
  spent(tokens: number, onError: (err: unknown) => void): void {
    if (this.balance !== null && tokens > 0) this.balance = Math.max(0, this.balance - tokens);
    if (this.poller?.running && !this.refreshTimer) {
      this.refreshTimer = setTimeout(() => {
        this.refreshTimer = undefined;
        this.refresh().catch(onError);
      }, REFRESH_DEBOUNCE_MS).unref();
    }
  }

  /** Upstream said 402 insufficient_tokens: nothing is left. */
  exhausted(): void {
    this.balance = 0;
    this.seenAt = this.clock.now();
    this.account.exhausted().catch(this.onStoreError);
  }

  /** A streamed answer reported the balance left. */
  observe(tokens: number): void {
    this.balance = tokens;
    this.seenAt = this.clock.now();
  }
}
