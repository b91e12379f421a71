// Serving a streamed generate request (either documented variant): a cache hit is replayed as
// SSE; else join an identical stream already live on this replica (a follower pays and reserves
// nothing), or lead a new one, whose completed result is cached for streamed and plain requests.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { planRequest } from '../cache/cache-policy.js';
import type { GenerateRequest } from '../generate/request-body.js';
import type { Services } from '../services.js';
import { Broadcast, type OpenOutcome } from './broadcast.js';
import { ClientSubscriber } from './client-subscriber.js';
import { leadStream } from './lead-stream.js';
import type { StreamVariant } from './replay.js';
import { replayableBody, replayHit } from './replay-hit.js';
import type { StreamContext } from './stream-context.js';
import { relayableHeaders, SseWriter } from './sse-writer.js';

/** A leader that fails for reasons of its own (its quota) hands over; followers try this often before going alone. */
const JOIN_ATTEMPTS = 3;

export async function serveStream(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  parsed: GenerateRequest,
  variant: StreamVariant,
): Promise<FastifyReply> {
  request.facts.model = parsed.model;
  const plan = planRequest(services.config.cache, request.principal!.team, parsed.body, parsed.model, request.headers);
  const ctx: StreamContext = { services, request, reply, parsed, variant, plan };
  const { hub } = services.streams;
  let storeAvailable = true;
  if (plan?.read) {
    const found = await services.cache.lookup(plan.key);
    storeAvailable = found.available;
    const body = found.answer ? replayableBody(found.answer) : null;
    if (found.answer && body) return replayHit(ctx, plan.key, found.answer, body);
    for (let attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
      const live = hub.find(plan.key);
      if (!live) break;
      const opened = await live.opened;
      if (opened.kind !== 'retry') return follow(ctx, live, opened);
    }
  }
  request.facts.cache = plan && storeAvailable ? 'miss' : 'bypass';
  // Claimed with no await since the last lookup: the next identical request finds this broadcast.
  const shared = plan !== null && !hub.find(plan.key);
  const broadcast = shared ? hub.claim(plan.key) : new Broadcast();
  const release = () => {
    if (shared) hub.release(plan.key, broadcast);
  };
  return leadStream(ctx, broadcast, release);
}

/** A follower: what the leader's stream has sent so far, then the rest live; it costs nothing. */
function follow(ctx: StreamContext, broadcast: Broadcast, opened: OpenOutcome): FastifyReply {
  const { services, request, reply, parsed } = ctx;
  const facts = request.facts;
  const team = request.principal!.team;
  facts.cache = 'coalesced';
  facts.outcome = 'coalesced';
  facts.tokensSpent = 0;
  if (opened.kind === 'error') throw opened.error;
  if (opened.kind === 'answer') return followAnswer(ctx, opened);
  if (opened.kind !== 'stream') throw new Error('unreachable: a retry is never followed');
  const grant = (id: string) => void services.grants.grant(id, team.name, services.clock.now()).catch(services.storeError);
  reply.hijack();
  const writer = new SseWriter(reply.raw, services.config.stream.heartbeat_interval_ms, () => (facts.ttfbMs = reply.elapsedTime));
  writer.start({
    ...relayableHeaders(opened.headers),
    'x-gateway-cache': 'coalesced',
    // Sent before the stream ends, so it is the estimate; the ledger gets the real charge.
    'x-gateway-tokens-saved': String(services.quota.estimate(parsed.model)),
  });
  broadcast.subscribe(
    new ClientSubscriber(writer, {
      variant: ctx.variant,
      leader: false,
      spendable: () => services.quota.spendable(team),
      onGenerationId: grant,
      onFinish: (result, detached) => {
        facts.tokensSaved = result.tokensSpent;
        if (detached) services.streams.detached(request, reply);
      },
    }),
  );
  void writer.closed.then(() => broadcast.checkIdle());
  return reply;
}

/** The leader's upstream answered without a stream: the follower gets the same answer, free. */
function followAnswer(ctx: StreamContext, opened: Extract<OpenOutcome, { kind: 'answer' }>): FastifyReply {
  const { services, request, reply } = ctx;
  let body = opened.body;
  if (opened.status === 200) {
    try {
      const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      const id = json.id;
      if (typeof id === 'string' || typeof id === 'number') {
        void services.grants.grant(String(id), request.principal!.team.name, services.clock.now()).catch(services.storeError);
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
    .send(body);
}
