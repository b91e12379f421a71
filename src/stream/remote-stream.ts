// A stream follower on another replica than its leader: relays the leader's events from the key's
// live backlog in Redis into this replica's broadcast, paying nothing. A leader gone before its
// first event hands over (this request leads); one dead mid-stream is taken over (stream-takeover.ts).
import type { CachedAnswer } from '../cache/cached-answer.js';
import type { Clock, Timers } from '../clock.js';
import type { KeyLock, RemoteFeed } from '../cache/replica-flight.js';
import { within } from '../cache/single-flight.js';
import type { Reservation } from '../quota/quota-service.js';
import type { Broadcast, StreamResult } from './broadcast.js';
import { replayableBody } from './replay-hit.js';
import { doneEvent, jsonEvent, toEvent } from './sse-parser.js';

/** How following began: the leader's events are being relayed, its answer was found whole, or this request must lead. */
export type RemoteStart =
  | { kind: 'live'; done: Promise<void> }
  | { kind: 'answer'; answer: CachedAnswer }
  | { kind: 'lead'; lock: KeyLock | null };

/** The `lead` entry a leader mirrors first: whose reservation pays, should it die (and its generation, when not in a generation_start). */
export interface LeadEntry {
  reservation: Reservation;
  generationId: string | null;
}

export function leadEntry(reservation: Reservation, generationId: string | null = null): string {
  return JSON.stringify({ reservation, generationId } satisfies LeadEntry);
}

/** The end entry a leader mirrors: what followers need to close their answers. */
export function endEntry(result: StreamResult): string {
  const { status, generationId, tokensSpent, clean } = result;
  return JSON.stringify({ status, generationId, tokensSpent, clean });
}

/** What a follower knows of a leader that died mid-stream, once it holds the key's lock. */
export interface LostLeader {
  /** The key's lock: call it once the stream is finished (releases it and announces). */
  lock: KeyLock;
  /** The text relayed so far. */
  text: string;
  /** The dead leader's generation, from its generation_start (null before it). */
  generationId: string | null;
  /** The dead leader's reservation, from its `lead` entry (null from a leader that sent none). */
  reservation: Reservation | null;
}

interface Relay {
  feed: RemoteFeed;
  broadcast: Broadcast;
  pollMs: number;
  /** How long to wait for a leader that neither sends nor lets go, on `clock`; polls wait on `timers`. */
  boundMs: number;
  clock: Clock;
  timers: Timers;
  /** Finishes the broadcast after the leader died mid-stream with no cached answer. */
  recover(lost: LostLeader): Promise<void>;
}

export async function followRemote(relay: Relay): Promise<RemoteStart> {
  const { feed, broadcast } = relay;
  const deadline = relay.clock.now() + relay.boundMs;
  for (;;) {
    const signal = feed.listen(); // listen before reading, so no notice is missed
    try {
      const entries = await feed.read('0');
      if (entries.length > 0) {
        broadcast.open({ kind: 'stream', headers: {} });
        return { kind: 'live', done: pump(relay, entries) };
      }
      const answer = await feed.answer();
      if (answer) return { kind: 'answer', answer };
      const lock = await feed.takeOver();
      if (lock) {
        const late = await feed.answer(); // the leader may have stored it and let go just now
        if (!late) return { kind: 'lead', lock };
        lock();
        return { kind: 'answer', answer: late };
      }
      const left = deadline - relay.clock.now();
      if (left <= 0) return { kind: 'lead', lock: null };
      await within(signal.done, Math.min(relay.pollMs, left), relay.timers);
    } catch {
      return { kind: 'lead', lock: null }; // the store failed: go alone
    } finally {
      signal.cancel();
    }
  }
}

/** Relays entries until the leader's end; a leader gone silent is finished from its cached answer, else taken over. */
async function pump(relay: Relay, first: Array<{ id: string; field: string; value: string }>): Promise<void> {
  const { feed, broadcast } = relay;
  let entries = first;
  let after = '0';
  let text = '';
  let generationId: string | null = null;
  let reservation: Reservation | null = null;
  for (;;) {
    for (const { id, field, value } of entries) {
      after = id;
      if (field === 'end') return broadcast.finish({ text, body: null, ...(JSON.parse(value) as Omit<StreamResult, 'text' | 'body'>) });
      if (field === 'lead') {
        // Who pays for what follows (a follower that took over leads from here), and its generation once known.
        ({ reservation, generationId } = JSON.parse(value) as LeadEntry);
        continue;
      }
      const event = toEvent(value);
      const eventId = event.json?.id;
      if (event.type === 'generation_start' && (typeof eventId === 'string' || typeof eventId === 'number')) generationId = String(eventId);
      if (event.type === 'content_delta' && typeof event.json?.delta === 'string') text += event.json.delta;
      broadcast.publish(event);
    }
    const signal = feed.listen();
    let lock: KeyLock | null = null;
    try {
      entries = await feed.read(after);
      if (entries.length > 0) continue;
      lock = await feed.takeOver(); // succeeds only once the leader let go without an end we saw
      if (!lock) {
        await within(signal.done, relay.pollMs, relay.timers);
        entries = await feed.read(after);
        continue;
      }
      // The leader may have sent its end and let go since the read above.
      const late = await feed.read(after);
      if (late.length > 0) {
        entries = late;
        continue;
      }
      const answer = await feed.answer();
      if (answer) return finishFromAnswer(broadcast, text, answer);
      const held = lock;
      lock = null; // the takeover releases it once its stream is finished
      return await relay.recover({ lock: held, text, generationId, reservation });
    } catch {
      return broadcast.finish({ status: 'unknown', generationId: null, text, tokensSpent: 0, clean: false, body: null });
    } finally {
      signal.cancel();
      lock?.();
    }
  }
}

/** The leader let go: its cached answer completes what was relayed, or the stream is cut as upstream would have cut it. */
function finishFromAnswer(broadcast: Broadcast, text: string, answer: CachedAnswer | null): void {
  const body = answer ? replayableBody(answer) : null;
  const full = body?.result_text ?? null;
  if (!answer || full === null || full === undefined || !full.startsWith(text)) {
    return broadcast.finish({ status: 'unknown', generationId: null, text, tokensSpent: 0, clean: false, body: null });
  }
  if (full.length > text.length) broadcast.publish(jsonEvent({ type: 'content_delta', delta: full.slice(text.length) }));
  broadcast.publish(jsonEvent({ type: 'generation_end', id: body?.id ?? null, tokens_spent: 0 }));
  broadcast.publish(doneEvent());
  broadcast.finish({ status: 'completed', generationId: answer.generationId, text: full, tokensSpent: answer.tokensSaved, clean: true, body: null });
}
