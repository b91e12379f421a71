// Serving a streamed generate request (either documented variant): a cache hit is replayed as
// SSE; else join an identical request in flight on this replica (a stream: relay its events;
// a plain one: replay its answer as SSE), or, across replicas, follow the leading replica's
// events; else lead, holding the key for plain and streamed twins alike. Twins pay nothing.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { planRequest } from '../cache/cache-policy.js';
import type { CachedAnswer } from '../cache/cached-answer.js';
import type { RemoteFeed } from '../cache/replica-flight.js';
import { AGAIN, Deadline, awaitFlight, type Flight, type FlightHandle } from '../cache/single-flight.js';
import type { GenerateRequest } from '../generate/request-body.js';
import { Broadcast, type OpenOutcome } from './broadcast.js';
import { ClientSubscriber } from './client-subscriber.js';
import { leadStream } from './lead-stream.js';
import { followRemote, type LostLeader } from './remote-stream.js';
import type { StreamVariant } from './replay.js';
import { replayableBody, replayHit } from './replay-hit.js';
import type { StreamContext, StreamServices } from './stream-context.js';
import { relayableHeaders, SseWriter } from './sse-writer.js';
import { sharedBudgetHeader, type BudgetHeader } from '../http/budget-header.js';
import { takeOverStream } from './stream-takeover.js';

export async function serveStream(
  services: StreamServices,
  request: FastifyRequest,
  reply: FastifyReply,
  parsed: GenerateRequest,
  variant: StreamVariant,
): Promise<FastifyReply> {
  request.facts.model = parsed.model;
  const plan = planRequest(services.config.cache, request.principal!.team, parsed.raw, parsed.model, request.headers);
  const ctx: StreamContext = { services, request, reply, parsed, variant, plan };
  const { cache } = services;
  let storeAvailable = true;
  const broadcast = new Broadcast();
  let handle: FlightHandle | null = null;
  if (plan?.read) {
    const found = await cache.lookup(plan.key);
    storeAvailable = found.available;
    const hit = found.answer && replayed(ctx, plan.key, found.answer, 'hit');
    if (hit) return hit;
    // With no twin in flight its flight is registered in the same step as that look: the next identical request, plain or streamed, finds it.
    const deadline = new Deadline(services.paid.waitBound(parsed.model), cache.timers);
    const met = await cache.flights.meet(plan.key, (flight) => joinTwin(ctx, flight, deadline), broadcast).finally(() => deadline.end());
    if ('made' in met) return met.made.reply;
    handle = met.handle;
  } else if (plan && !cache.flights.join(plan.key)) handle = cache.flights.open(plan.key, broadcast);
  request.facts.cache = plan && storeAvailable ? 'miss' : 'bypass';
  if (!plan?.read || !storeAvailable) return leadStream(ctx, broadcast, handle, null);
  const across = await cache.leadOrFollow(plan.key);
  if ('lock' in across) return leadStream(ctx, broadcast, handle, across.lock);
  if ('answer' in across) return handOver(ctx, broadcast, handle, across.answer);
  return relayFromReplica(ctx, broadcast, handle, across.remote);
}

/**
 * An identical request in flight here: a stream, relay its events (AGAIN if its leader failed for
 * reasons of its own, its quota); a plain one, its answer replayed as SSE (AGAIN if it had none to
 * share). Null: lead (on Redis the key's lock says who really leads a plain twin, which may itself
 * wait on another replica's stream). The reply is wrapped: a FastifyReply is a thenable.
 */
async function joinTwin(ctx: StreamContext, flight: Flight, deadline: Deadline): Promise<{ reply: FastifyReply | Promise<FastifyReply> } | typeof AGAIN | null> {
  const { cache } = ctx.services;
  if (flight.broadcast) {
    const budget = followerBudget(ctx);
    const opened = await flight.broadcast.opened;
    return opened.kind === 'retry' ? AGAIN : { reply: follow(ctx, flight.broadcast, opened, budget) };
  }
  if (cache.coordinated) return null;
  const shared = await awaitFlight(flight, deadline);
  if (shared === AGAIN || shared === null) return shared;
  const reply = replayed(ctx, ctx.plan!.key, shared, 'coalesced');
  return reply && { reply };
}

/** A shared answer replayed as SSE, if it is text; null otherwise (the caller goes on). */
function replayed(ctx: StreamContext, key: string, answer: CachedAnswer, outcome: 'hit' | 'coalesced'): Promise<FastifyReply> | null {
  const body = replayableBody(answer);
  return body ? replayHit(ctx, key, answer, body, outcome) : null;
}

/** Another replica's answer arrived before this one led: local twins start over (and find it), this request replays it. */
function handOver(ctx: StreamContext, broadcast: Broadcast, handle: FlightHandle | null, answer: CachedAnswer): Promise<FastifyReply> {
  broadcast.open({ kind: 'retry' });
  handle?.share(answer);
  return replayed(ctx, ctx.plan!.key, answer, 'coalesced') ?? leadStream(ctx, new Broadcast(), null, null);
}

/** The leader is on another replica: relay its events here (this request and local twins follow), or lead if it let go. */
async function relayFromReplica(ctx: StreamContext, broadcast: Broadcast, handle: FlightHandle | null, feed: RemoteFeed): Promise<FastifyReply> {
  const { services, parsed } = ctx;
  const pollMs = services.config.cache.poll_ms;
  const payer = { paying: false };
  let tookOver = false;
  const recover = (lost: LostLeader) => {
    tookOver = true; // the takeover shares its answer with plain twins here itself
    return takeOverStream({ ctx, broadcast, handle, onPaying: () => (payer.paying = true) }, lost);
  };
  const start = await followRemote({
    feed,
    broadcast,
    pollMs,
    boundMs: services.paid.waitBound(parsed.model),
    clock: services.clock,
    timers: services.cache.timers,
    recover,
  });
  if (start.kind === 'lead') return leadStream(ctx, broadcast, handle, start.lock);
  if (start.kind === 'answer') return handOver(ctx, broadcast, handle, start.answer);
  // Plain twins here get the leader's answer once it is stored.
  services.streams.track(start.done.then(async () => tookOver || handle?.share(await feed.answer().catch(() => null))));
  const budget = followerBudget(ctx);
  return follow(ctx, broadcast, await broadcast.opened, budget, payer);
}

/** A follower: what the leader's stream has sent so far, then the rest live; it costs nothing. */
/**
 * A follower's budget header, asked for before it waits on the leader: by the time it subscribes
 * the figure is in hand (no await between the leader's open and the subscription, in which the
 * leader's client could leave and stop the upstream read with nobody else subscribed).
 */
function followerBudget(ctx: StreamContext): Promise<BudgetHeader> {
  return sharedBudgetHeader(ctx.services.quota, ctx.request.principal!);
}

async function follow(
  ctx: StreamContext,
  broadcast: Broadcast,
  opened: OpenOutcome,
  budgetHeader: Promise<BudgetHeader>,
  payer = { paying: false },
): Promise<FastifyReply> {
  const { services, request, reply, parsed } = ctx;
  const facts = request.facts;
  const team = request.principal!.team;
  facts.cache = 'coalesced';
  facts.outcome = 'coalesced';
  facts.tokensSpent = 0;
  if (opened.kind === 'error') throw opened.error;
  const budget = await budgetHeader;
  if (opened.kind === 'answer') return followAnswer(ctx, opened, budget);
  if (opened.kind !== 'stream') throw new Error('unreachable: a retry is never followed');
  const grant = (id: string) => void services.grants.grant(id, team.name, services.clock.now(), true).catch(services.storeError);
  reply.hijack();
  const writer = new SseWriter(reply.raw, services.config.stream.heartbeat_interval_ms, () => (facts.ttfbMs = reply.elapsedTime));
  writer.start({
    ...relayableHeaders(opened.headers),
    'x-gateway-cache': 'coalesced',
    // Sent before the stream ends, so it is the estimate; the ledger gets the real charge.
    'x-gateway-tokens-saved': String(services.quota.estimate(parsed.model)),
    ...budget,
  });
  broadcast.subscribe(
    new ClientSubscriber(writer, {
      variant: ctx.variant,
      leader: () => payer.paying,
      spendable: () => services.quota.spendable(request.principal!),
      onGenerationId: grant,
      onFinish: (result, detached) => {
        // A follower that took over a dead leader's stream with its own call paid for it: it saved nothing.
        if (payer.paying) {
          facts.cache = 'miss';
          facts.outcome = 'upstream';
          facts.tokensSpent = result.tokensSpent;
          facts.tokensSaved = 0;
        } else facts.tokensSaved = result.tokensSpent;
        if (detached) services.streams.detached(request, reply);
      },
    }),
  );
  void writer.closed.then(() => broadcast.checkIdle());
  return reply;
}

/** The leader's upstream answered without a stream: the follower gets the same answer, free. */
function followAnswer(ctx: StreamContext, opened: Extract<OpenOutcome, { kind: 'answer' }>, budget: BudgetHeader): FastifyReply {
  const { services, request, reply } = ctx;
  let body = opened.body;
  if (opened.status === 200) {
    try {
      const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      const id = json.id;
      if (typeof id === 'string' || typeof id === 'number') {
        void services.grants.grant(String(id), request.principal!.team.name, services.clock.now(), true).catch(services.storeError);
      }
      request.facts.tokensSaved = Number(json.tokens_spent) || 0;
      body = Buffer.from(JSON.stringify({ ...json, tokens_spent: 0 }), 'utf8');
    } catch {
      // not JSON: relayed as it is
    }
  }
  return reply
    .code(opened.status)
    .headers(opened.headers)
    .header('x-gateway-cache', 'coalesced')
    .header('x-gateway-tokens-saved', String(request.facts.tokensSaved ?? 0))
    .headers(budget)
    .send(body);
}
