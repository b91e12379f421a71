// One stream's events on this replica: the leader (the request that opened the upstream
// stream, or one relaying another replica's) publishes each event here; identical requests
// that arrive meanwhile (followers) get every event so far, then the rest live. A leader on
// Redis also mirrors them to followers on other replicas (`mirror`).
import type { GatewayError } from '../errors.js';
import type { SseEvent } from './sse-parser.js';

/** How the leader's attempt to open the stream ended; followers act on the same outcome. */
export type OpenOutcome =
  | { kind: 'stream'; headers: Record<string, string> }
  /** Upstream answered without streaming (an error status, or plain JSON): the same for everyone. */
  | { kind: 'answer'; status: number; headers: Record<string, string>; body: Buffer }
  /** The gateway could not reach upstream. */
  | { kind: 'error'; error: GatewayError }
  /** The leader failed for reasons of its own (its team's quota): followers start over. */
  | { kind: 'retry' };

export interface StreamResult {
  /** completed: an end event (or a poll after a break) says so; failed: an error event; unknown: nobody can tell yet. */
  status: 'completed' | 'failed' | 'pending' | 'unknown';
  generationId: string | null;
  /** The text every subscriber received. */
  text: string;
  /** What upstream charged for it. */
  tokensSpent: number;
  /** False when upstream cut the stream and the gateway could not complete it: clients are cut too. */
  clean: boolean;
  /** The completed generation as the non-streamed answer would give it (what the cache stores), else null. */
  body: Record<string, unknown> | null;
}

export interface Subscriber {
  /** False once its client has gone; it still hears the end, to record what the request did. */
  readonly connected: boolean;
  event(event: SseEvent): void;
  finish(result: StreamResult): void;
}

export class Broadcast {
  readonly events: SseEvent[] = [];
  readonly opened: Promise<OpenOutcome>;
  /** Called when the last subscriber leaves before the end (stop reading upstream, if so configured). */
  onIdle: (() => void) | null = null;
  /** Also hears each event and the end (the leader's copy for other replicas). */
  mirror: { event(event: SseEvent): void; finish(result: StreamResult): void } | null = null;
  private readonly subscribers = new Set<Subscriber>();
  private result: StreamResult | null = null;
  private settleOpened!: (outcome: OpenOutcome) => void;

  constructor() {
    this.opened = new Promise((resolve) => (this.settleOpened = resolve));
  }

  /** The leader tells followers how opening went (only the first call counts). */
  open(outcome: OpenOutcome): void {
    this.settleOpened(outcome);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Subscribers whose client is still there. */
  get connectedCount(): number {
    let count = 0;
    for (const subscriber of this.subscribers) if (subscriber.connected) count++;
    return count;
  }

  publish(event: SseEvent): void {
    if (this.result) return;
    this.events.push(event);
    this.mirror?.event(event);
    for (const subscriber of [...this.subscribers]) subscriber.event(event);
  }

  finish(result: StreamResult): void {
    if (this.result) return;
    this.result = result;
    this.mirror?.finish(result);
    const subscribers = [...this.subscribers];
    this.subscribers.clear();
    for (const subscriber of subscribers) subscriber.finish(result);
  }

  /** Replays what arrived so far, then delivers the rest live, through to the end. */
  subscribe(subscriber: Subscriber): void {
    for (const event of this.events) subscriber.event(event);
    if (this.result) subscriber.finish(this.result);
    else this.subscribers.add(subscriber);
  }

  /** A client left: when none is left before the end, tell onIdle. */
  checkIdle(): void {
    if (this.result) return;
    for (const subscriber of this.subscribers) if (subscriber.connected) return;
    this.onIdle?.();
  }
}
