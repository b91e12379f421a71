// The leader of a stream: reserves the estimate before anything goes upstream, opens the
// upstream stream, relays it to its own client through the broadcast (where identical
// requests join it), and reads it to the end even if every client leaves (unless configured
// not to), so what upstream charged is always settled. Upstream errors are relayed unchanged.
import type { FastifyReply } from 'fastify';
import { buffer } from 'node:stream/consumers';
import type { KeyLock } from '../cache/replica-flight.js';
import type { FlightHandle, Shared } from '../cache/single-flight.js';
import type { GatewayError } from '../errors.js';
import type { GenerationFacts } from '../generate/generation.js';
import type { Reservation } from '../quota/quota-service.js';
import { classifyFailure, type UpstreamStream } from '../upstream/client.js';
import type { Broadcast, StreamResult } from './broadcast.js';
import { ClientSubscriber } from './client-subscriber.js';
import type { StreamContext } from './stream-context.js';
import { relayableHeaders, SseWriter } from './sse-writer.js';
import { budgetHeader, payingBudgetHeader } from '../http/budget-header.js';
import { endEntry, leadEntry } from './remote-stream.js';
import { pumpUpstream } from './upstream-pump.js';

export const UPSTREAM_PATH = { reference: '/api/v2/generate/stream', guide: '/api/v2/generate' } as const;

export function isEventStream(headers: Record<string, string>): boolean {
  return (headers['content-type'] ?? '').toLowerCase().startsWith('text/event-stream');
}

/**
 * `handle` is this key's flight on this replica (plain and streamed twins wait on it), `lock`
 * releases the key across replicas (Redis): both are let go with what may be shared, once known.
 */
export async function leadStream(
  ctx: StreamContext,
  broadcast: Broadcast,
  handle: FlightHandle | null,
  lock: KeyLock | null,
): Promise<FastifyReply> {
  const { services, request, reply, parsed } = ctx;
  const { quota, upstream, paid, config } = services;
  const facts = request.facts;
  const release = (shared: Shared = null) => {
    handle?.share(shared);
    lock?.();
  };
  let reservation: Reservation;
  try {
    reservation = await paid.reserve(request.principal!, parsed.model);
  } catch (err) {
    broadcast.open({ kind: 'retry' }); // this team's quota: an identical request of another may still go
    release();
    throw err;
  }
  const started = performance.now();
  let up: UpstreamStream;
  try {
    up = await paid.send(reservation, facts, () => upstream.stream(parsed.raw, paid.timeouts(parsed.model), UPSTREAM_PATH[ctx.variant]));
  } catch (err) {
    broadcast.open({ kind: 'error', error: err as GatewayError });
    release();
    throw err;
  }
  if (up.status !== 200 || !isEventStream(up.headers)) return answerWhole(ctx, up, reservation, broadcast, release, started);

  const mirror = lock && ctx.plan ? services.cache.liveMirror(ctx.plan.key) : null;
  // Followers on other replicas relay what this leader mirrors; its end goes before the lock is let go.
  if (mirror && lock) {
    mirror('lead', leadEntry(reservation)); // should this replica die mid-stream, a follower settles it (stream-takeover.ts)
    // A follower took over if this replica stalled past the lock: its entries are the backlog's now.
    broadcast.mirror = {
      event: (event) => void (lock.lost() || mirror('e', event.raw)),
      finish: (result) => void (lock.lost() || mirror('end', endEntry(result))),
    };
  }
  broadcast.open({ kind: 'stream', headers: up.headers });
  reply.hijack();
  const writer = new SseWriter(reply.raw, config.stream.heartbeat_interval_ms, () => (facts.ttfbMs = reply.elapsedTime));
  writer.start({ ...relayableHeaders(up.headers), 'x-gateway-cache': facts.cache ?? 'miss', ...payingBudgetHeader(quota, reservation) });
  broadcast.subscribe(
    new ClientSubscriber(writer, {
      variant: ctx.variant,
      leader: true,
      spendable: () => quota.spendable(request.principal!),
      onFinish: (result, detached) => {
        facts.tokensSpent = result.tokensSpent;
        facts.upstreamMs = performance.now() - started;
        if (detached) services.streams.detached(request, reply);
      },
    }),
  );
  void writer.closed.then(() => broadcast.checkIdle());
  const read = async () => {
    let result: StreamResult = { status: 'unknown', generationId: null, text: '', tokensSpent: 0, clean: false, body: null };
    let shared: Shared = null;
    try {
      result = await pumpUpstream({
        services,
        broadcast,
        body: up.body,
        reservation,
        model: parsed.model,
        cacheKey: ctx.plan?.key ?? null,
        stopWhenIdle: !config.stream.finish_after_disconnect,
      });
      // Cached before the clients' answers end, so a request sent after one ends finds it.
      shared = ctx.plan && result.body ? await remember(ctx, result) : null;
    } catch (err) {
      // Not expected (every step fails soft); never leave followers waiting or the key claimed.
      services.log.error({ err }, 'reading an upstream stream failed');
      up.body.destroy();
    } finally {
      broadcast.finish(result);
      release(shared);
    }
  };
  services.streams.track(read());
  return reply;
}

/** Stores a completed stream as the non-streamed answer would be stored; returns what may be shared. */
async function remember(ctx: StreamContext, result: StreamResult): Promise<Shared> {
  const { services, request, parsed } = ctx;
  const generation: GenerationFacts = { id: result.generationId, status: 'completed', tokensSpent: result.tokensSpent, json: result.body };
  try {
    return await services.cache.remember(ctx.plan!, 200, generation, request.principal!.team.name, parsed.model);
  } catch (err) {
    services.log.warn({ err }, 'caching a completed stream failed');
    return null;
  }
}

/** Upstream did not stream (an error status, or a plain JSON answer): account and relay it whole. */
async function answerWhole(
  ctx: StreamContext,
  up: UpstreamStream,
  reservation: Reservation,
  broadcast: Broadcast,
  release: (shared?: Shared) => void,
  started: number,
): Promise<FastifyReply> {
  const { services, request, reply } = ctx;
  let body: Buffer;
  try {
    body = await buffer(up.body);
  } catch (err) {
    const failure = classifyFailure(err);
    if (up.status === 200) await services.paid.unknown(reservation); // an error status was released on arrival
    broadcast.open({ kind: 'error', error: failure.gatewayError });
    release();
    throw failure.gatewayError;
  }
  request.facts.upstreamMs = performance.now() - started;
  let shared: Shared = null;
  if (up.status === 200) {
    // The key goes with a pending job only (its end is cached then); a result in hand is cached below.
    const generation = await services.paid.settleBody(reservation, body, request.facts, ctx.plan?.key ?? null);
    const team = request.principal!.team.name;
    if (ctx.plan) shared = await services.cache.remember(ctx.plan, up.status, generation, team, ctx.parsed.model).catch(() => null);
  }
  broadcast.open({ kind: 'answer', status: up.status, headers: up.headers, body });
  release(shared);
  return reply
    .code(up.status)
    .headers({ ...up.headers, 'x-gateway-cache': request.facts.cache ?? 'miss', ...budgetHeader(request.facts.budgetRemaining) })
    .send(body);
}
