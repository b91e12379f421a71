// One client of a broadcast: writes each event to its SSE writer in order, rewriting only the
// end event (this client's charge: upstream's for the leader, 0 for a follower; the field its
// variant expects; balance_remaining as the team's view, never the whole account's), and ends
// or cuts its answer when the stream is over. It never blocks the upstream reader.
import type { StreamResult, Subscriber } from './broadcast.js';
import { endEvent, type StreamVariant } from './replay.js';
import { jsonEvent, type SseEvent } from './sse-parser.js';
import type { SseWriter } from './sse-writer.js';

export interface ClientOptions {
  variant: StreamVariant;
  /** True for the client whose request opened the upstream stream (and pays for it); asked at the end (a follower may take over). */
  leader: boolean | (() => boolean);
  /** What this team may still spend, for balance_remaining; null if unknown. */
  spendable(): Promise<number | null>;
  /** The generation id became known (followers are granted it here). */
  onGenerationId?(id: string): void;
  /** The stream is over, just before the answer ends: record the request's facts here. */
  onFinish(result: StreamResult, detached: boolean): void;
}

export class ClientSubscriber implements Subscriber {
  private queue: Promise<void> | null = null;

  constructor(
    private readonly writer: SseWriter,
    private readonly options: ClientOptions,
  ) {}

  get connected(): boolean {
    return this.writer.open;
  }

  event(event: SseEvent): void {
    const id = event.json?.id;
    if (event.type === 'generation_start' && (typeof id === 'string' || typeof id === 'number')) this.options.onGenerationId?.(String(id));
    if (event.type === 'generation_end') this.enqueue(async () => this.writer.event((await this.renderEnd(event)).raw));
    else this.enqueue(() => this.writer.event(event.raw));
  }

  finish(result: StreamResult): void {
    this.enqueue(() => {
      const detached = !this.writer.open;
      this.options.onFinish(result, detached);
      if (result.clean) this.writer.end();
      else this.writer.cut();
    });
  }

  /** Writes at once when nothing is waiting; otherwise after what is (an end event's balance read). */
  private enqueue(step: () => void | Promise<void>): void {
    if (!this.queue) {
      const out = step();
      if (out) this.queue = this.settleQueue(out);
      return;
    }
    this.queue = this.settleQueue(this.queue.then(step));
  }

  private settleQueue(pending: Promise<void>): Promise<void> {
    const tracked: Promise<void> = pending
      .catch(() => {})
      .finally(() => {
        if (this.queue === tracked) this.queue = null;
      });
    return tracked;
  }

  private async renderEnd(event: SseEvent): Promise<SseEvent> {
    const json = event.json ?? {};
    const wantsBalance = this.options.variant === 'guide' || 'balance_remaining' in json;
    const balance = wantsBalance ? await this.options.spendable().catch(() => null) : null;
    const { leader } = this.options;
    if (!(typeof leader === 'function' ? leader() : leader)) return endEvent((json.id as string | number | undefined) ?? null, this.options.variant, 0, balance);
    const tokens = Number(json.tokens_spent ?? json.tokens_used ?? 0);
    const end: Record<string, unknown> = { ...json };
    if (this.options.variant === 'guide') end.tokens_used = tokens;
    else end.tokens_spent = tokens;
    if (wantsBalance && balance !== null) end.balance_remaining = balance;
    else delete end.balance_remaining;
    const unchanged = JSON.stringify(end) === JSON.stringify(json);
    return unchanged ? event : jsonEvent(end);
  }
}
