// Delivers one alert to each webhook that takes its event: POST JSON, signed with the
// webhook's secret (`x-gateway-signature: sha256=<hex HMAC-SHA256 of the body>`), retried
// with exponential backoff until it is accepted (2xx) or `retryForMs` has passed since the
// first attempt. Time and waiting are injected, so tests never sleep.
import { createHmac } from 'node:crypto';
import { request } from 'undici';
import type { Clock } from '../clock.js';

export type AlertEvent = 'budget_threshold' | 'account_floor' | 'store_unavailable';

export interface Webhook {
  url: string;
  secret?: string;
  /** The events it takes; absent = all. */
  events?: AlertEvent[];
}

export interface AlertPayload {
  event: AlertEvent;
  text: string;
  at: string;
  [field: string]: unknown;
}

export interface DeliveryObserver {
  delivered(event: AlertEvent): void;
  failed(event: AlertEvent): void;
}

/** Waits `ms` (a timer in production; tests pass one that moves a manual clock). */
export type Sleep = (ms: number) => Promise<void>;
export const timerSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 60_000;
const ATTEMPT_TIMEOUT_MS = 10_000;

export function signature(body: string, secret: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

export class WebhookSender {
  private stopped = false;

  constructor(
    private readonly webhooks: Webhook[],
    private readonly deps: { clock: Clock; sleep: Sleep; retryForMs: number; observer: DeliveryObserver; onGiveUp: (url: string, err: unknown) => void },
  ) {}

  /** Whether any webhook takes this event (nothing is checked or claimed otherwise). */
  wants(event: AlertEvent): boolean {
    return this.webhooks.some((hook) => !hook.events || hook.events.includes(event));
  }

  /** Sends to every webhook that takes the event; resolves when each was delivered or given up. */
  async send(payload: AlertPayload): Promise<void> {
    const body = JSON.stringify(payload);
    const targets = this.webhooks.filter((hook) => !hook.events || hook.events.includes(payload.event));
    await Promise.all(targets.map((hook) => this.deliver(hook, payload.event, body)));
  }

  /** Abandons retries still waiting (on shutdown). */
  stop(): void {
    this.stopped = true;
  }

  private async deliver(hook: Webhook, event: AlertEvent, body: string): Promise<void> {
    const deadline = this.deps.clock.now() + this.deps.retryForMs;
    let delay = FIRST_DELAY_MS;
    for (;;) {
      let failure: unknown;
      try {
        const res = await request(hook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'elumenta-gateway',
            ...(hook.secret ? { 'x-gateway-signature': signature(body, hook.secret) } : {}),
          },
          body,
          headersTimeout: ATTEMPT_TIMEOUT_MS,
          bodyTimeout: ATTEMPT_TIMEOUT_MS,
        });
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          this.deps.observer.delivered(event);
          return;
        }
        failure = new Error(`webhook answered ${res.statusCode}`);
      } catch (err) {
        failure = err;
      }
      this.deps.observer.failed(event);
      if (this.stopped || this.deps.clock.now() + delay > deadline) {
        this.deps.onGiveUp(new URL(hook.url).origin, failure);
        return;
      }
      await this.deps.sleep(delay);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }
}
