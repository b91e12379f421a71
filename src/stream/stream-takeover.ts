// A stream leader on another replica died mid-stream: the follower holding its lock finishes the
// stream here, from the dead leader's generation if upstream finished it (settling it on the
// dead leader's reservation), else with its own paid call continuing the text the clients have.
// A dead leader's generation that upstream cannot be asked about is never paid for twice: it is
// kept as a pending job and the stream is cut, as when upstream fails a live leader.
import { within, type FlightHandle, type Shared } from '../cache/single-flight.js';
import type { GenerationFacts } from '../generate/generation.js';
import { Broadcast, type StreamResult, type Subscriber } from './broadcast.js';
import { isEventStream, UPSTREAM_PATH } from './lead-stream.js';
import { endEntry, leadEntry, type LostLeader } from './remote-stream.js';
import { doneEvent, jsonEvent, type SseEvent } from './sse-parser.js';
import type { StreamContext } from './stream-context.js';
import { pumpUpstream } from './upstream-pump.js';

export interface Takeover {
  ctx: StreamContext;
  /** This replica's broadcast of the stream: its clients have had `lost.text` so far. */
  broadcast: Broadcast;
  /** This key's flight on this replica: plain twins get what is shared. */
  handle: FlightHandle | null;
  /** This request pays from now on (its own call): its facts and its end event say so. */
  onPaying(): void;
}

const NEVER = new Promise<never>(() => {});

const cut = (text: string): StreamResult => ({ status: 'unknown', generationId: null, text, tokensSpent: 0, clean: false, body: null });

export async function takeOverStream(takeover: Takeover, lost: LostLeader): Promise<void> {
  const { ctx, broadcast } = takeover;
  let shared: Shared = null;
  // Followers on other replicas relay what this one sends now, as they relayed the dead leader.
  const mirror = ctx.plan ? ctx.services.cache.liveMirror(ctx.plan.key) : null;
  if (mirror) {
    broadcast.mirror = {
      event: (event) => void (lost.lock.lost() || mirror('e', event.raw)),
      finish: (result) => void (lost.lock.lost() || mirror('end', endEntry(result))),
    };
  }
  try {
    const adopted = await adoptGeneration(ctx, lost);
    if (adopted === 'own call') {
      shared = await continueWithOwnCall(takeover, lost);
    } else if (adopted !== 'cut') {
      finishFrom(broadcast, lost.text, adopted);
      shared = await remember(ctx, adopted, lost.reservation!.team);
    } // cut: nothing more is sent (below), and a retry finds the job's result cached once it ends
  } catch (err) {
    ctx.services.log.error({ err }, 'taking over a stream whose leader died failed');
  } finally {
    broadcast.finish(cut(lost.text)); // a no-op once finished
    takeover.handle?.share(shared);
    lost.lock();
  }
}

/**
 * What becomes of the dead leader's generation, settled on its reservation (idempotent: the
 * reservation id is the key): completed, the follower finishes the stream from it; failed,
 * unknown upstream, or still running past the wait bound (kept as a pending job, its charge
 * settled when it ends), the follower makes its own call. Unreadable (upstream down after the
 * client's retries), it is kept as a pending job and the stream is cut: a second paid call
 * would most likely fail too, and if it did not, the team would pay twice for one answer.
 */
async function adoptGeneration(ctx: StreamContext, lost: LostLeader): Promise<GenerationFacts | 'own call' | 'cut'> {
  const { services, parsed } = ctx;
  const { reservation, generationId } = lost;
  if (!reservation || !generationId) return 'own call';
  const deadline = services.clock.now() + services.paid.waitBound(parsed.model);
  const unread = (err: unknown) => services.log.warn({ err, generation_id: generationId }, 'poll of a dead leader\'s generation failed: kept as a pending job');
  for (;;) {
    const polled = await services.paid.pollOwed(generationId, unread);
    if (!polled) return 'own call';
    const { generation, read } = polled;
    if (generation.status === 'pending' && read && services.clock.now() < deadline) {
      await within(NEVER, services.config.cache.poll_ms, services.cache.timers); // the next poll, on the injected timers
      continue;
    }
    // A job ending later caches its result under the key, so a retry of a cut stream is a free hit.
    await services.paid.applyOutcome(reservation, generation, generation.status === 'pending' ? (ctx.plan?.key ?? null) : null);
    if (generation.status === 'completed') return generation;
    return read ? 'own call' : 'cut';
  }
}

/** Sends what the clients lack of a completed generation and ends their stream; cuts it if the text does not continue theirs. */
function finishFrom(broadcast: Broadcast, text: string, generation: GenerationFacts): void {
  const full = typeof generation.json?.result_text === 'string' ? generation.json.result_text : null;
  if (full === null || !full.startsWith(text)) return broadcast.finish(cut(text));
  if (full.length > text.length) broadcast.publish(jsonEvent({ type: 'content_delta', delta: full.slice(text.length) }));
  broadcast.publish(jsonEvent({ type: 'generation_end', id: generation.json?.id ?? generation.id, tokens_spent: generation.tokensSpent }));
  broadcast.publish(doneEvent());
  broadcast.finish({ status: 'completed', generationId: generation.id, text: full, tokensSpent: generation.tokensSpent, clean: true, body: generation.json });
}

/** This request's own paid call, its events continuing the stream (mirrored to other replicas, as a leader's are). */
async function continueWithOwnCall(takeover: Takeover, lost: LostLeader): Promise<Shared> {
  const { ctx, broadcast } = takeover;
  const { services, request, parsed } = ctx;
  const { paid, upstream } = services;
  if (!ctx.plan) return null;
  const reservation = await paid.reserve(request.principal!, parsed.model);
  takeover.onPaying();
  const up = await paid.send(reservation, request.facts, () => upstream.stream(parsed.raw, paid.timeouts(parsed.model), UPSTREAM_PATH[ctx.variant]));
  if (up.status !== 200 || !isEventStream(up.headers)) {
    up.body.resume();
    if (up.status === 200) await paid.unknown(reservation); // not a stream after all: nothing to continue with
    return null;
  }
  // Should this request die too, a follower on another replica knows whose reservation and generation to settle.
  const lead = services.cache.liveMirror(ctx.plan.key);
  lead?.('lead', leadEntry(reservation));
  const own = new Broadcast();
  const started = broadcast.events.some((event) => event.type === 'generation_start');
  own.subscribe(new Continuation(broadcast, lost.text, started, (id) => lead?.('lead', leadEntry(reservation, id))));
  const result = await pumpUpstream({
    services,
    broadcast: own,
    body: up.body,
    reservation,
    model: parsed.model,
    cacheKey: ctx.plan?.key ?? null,
    stopWhenIdle: false,
  });
  const shared = result.body ? await remember(ctx, { id: result.generationId, status: 'completed', tokensSpent: result.tokensSpent, json: result.body }, reservation.team) : null;
  own.finish(result);
  return shared;
}

/**
 * Relays a new stream of the same request after what the clients already have: its start is
 * dropped if they had one, its text up to what they have is skipped, the rest goes on. A new
 * text that does not continue theirs cannot be mended: their stream is cut, as upstream cuts one.
 */
class Continuation implements Subscriber {
  readonly connected = true;
  private text = '';
  private diverged = false;

  constructor(
    private readonly out: Broadcast,
    private readonly sent: string,
    /** The clients had a generation_start (the dead leader's). */
    private readonly started: boolean,
    /** The new generation's id, which clients do not see when its start is dropped. */
    private readonly onGenerationId: (id: string) => void,
  ) {}

  event(event: SseEvent): void {
    if (this.diverged) return;
    if (event.type === 'generation_start') {
      const id = event.json?.id;
      if (typeof id === 'string' || typeof id === 'number') this.onGenerationId(String(id));
      if (this.started) return;
    }
    const delta = event.type === 'content_delta' ? event.json?.delta : undefined;
    if (typeof delta !== 'string') return this.out.publish(event);
    const before = this.text.length;
    this.text += delta;
    const { sent } = this;
    if (before >= sent.length) return this.out.publish(event);
    if (this.text.length <= sent.length) {
      this.diverged = !sent.startsWith(this.text);
      return;
    }
    if (!this.text.startsWith(sent)) this.diverged = true;
    else this.out.publish(jsonEvent({ type: 'content_delta', delta: this.text.slice(sent.length) }));
  }

  finish(result: StreamResult): void {
    const whole = !this.diverged && this.text.startsWith(this.sent);
    this.out.finish(whole ? result : { ...result, text: this.sent, clean: false });
  }
}

/** Caches the completed generation as a leader would; what may be shared with plain twins here. */
async function remember(ctx: StreamContext, generation: GenerationFacts, team: string): Promise<Shared> {
  if (!ctx.plan || !generation.json) return null;
  try {
    return await ctx.services.cache.remember(ctx.plan, 200, generation, team, ctx.parsed.model);
  } catch (err) {
    ctx.services.log.warn({ err }, 'caching a taken-over stream failed');
    return null;
  }
}
