// POST /api/v2/generate through the cache: a hit or a coalesced answer costs its team nothing
// and reserves nothing; only the request that goes upstream takes the paid path (reserve,
// forward, settle) and pays. Identical requests in flight share one upstream call.
import type { Principal } from '../auth/authenticator.js';
import type { PlainResult } from '../generate/paid-call.js';
import type { GenerateRequest } from '../generate/request-body.js';
import type { CacheOutcome, RequestFacts } from '../http/context.js';
import type { Tracer } from '@opentelemetry/api';
import type { Config } from '../config/schema.js';
import type { PaidPath } from '../generate/paid-call.js';
import type { JobStore } from '../generations/job-store.js';
import type { CachedAnswer } from './cached-answer.js';
import type { KeyLock } from './replica-flight.js';
import type { ResponseCache } from './response-cache.js';
import { planRequest } from './cache-policy.js';
import { inSpan } from '../telemetry/spans.js';
import { AGAIN, Deadline, awaitFlight, type Shared } from './single-flight.js';

export interface GenerateAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

type Headers = Record<string, string | string[] | undefined>;

/** What a plain generate through the cache touches. */
export interface CachedGenerateDeps {
  config: { cache: Config['cache'] };
  cache: ResponseCache;
  paid: PaidPath;
  /** A pending job's twins: their savings are recorded when its cost is known. */
  jobs: Pick<JobStore, 'addTwin'>;
  tracer?: Tracer;
  storeError(err: unknown): void;
}

function upstreamAnswer({ res }: PlainResult, outcome: CacheOutcome, facts: RequestFacts): GenerateAnswer {
  facts.cache = outcome;
  return { status: res.status, headers: { ...res.headers, 'x-gateway-cache': outcome }, body: res.body };
}

export async function cachedGenerate(
  services: CachedGenerateDeps,
  principal: Principal,
  request: GenerateRequest,
  facts: RequestFacts,
  headers: Headers,
): Promise<GenerateAnswer> {
  const { cache, config } = services;
  const team = principal.team.name;
  // Streamed requests are answered by the streaming path, which stores through services.cache itself.
  const plan = request.stream ? null : planRequest(config.cache, principal.team, request.raw, request.model, headers);
  if (!plan) return upstreamAnswer(await services.paid.plain(principal, request, facts, null), 'bypass', facts);

  const sharedAnswer = async (key: string, answer: CachedAnswer, outcome: 'hit' | 'coalesced'): Promise<GenerateAnswer> => {
    await cache.entitle(key, answer, team);
    // A pending job's twin: its saving is recorded when the job's cost is known (src/generate/paid-call.ts).
    if (answer.kind === 'pending' && answer.generationId) {
      await services.jobs.addTwin(answer.generationId, { team, key: principal.key.id }).catch(services.storeError);
    }
    facts.cache = outcome;
    facts.outcome = outcome;
    facts.tokensSaved = answer.tokensSaved;
    facts.tokensSpent = 0;
    return {
      status: 200,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'x-gateway-cache': outcome,
        'x-gateway-tokens-saved': String(answer.tokensSaved),
      },
      body: answer.body,
    };
  };

  /** The paid path; returns the answer for this request and what identical ones may share. `lock` (Redis) is let go with the cache write. */
  const goUpstream = async (storeAvailable: boolean, lock: KeyLock | null = null): Promise<{ answer: GenerateAnswer; shared: Shared }> => {
    // The key travels with a pending job, so its result is cached when a poll or the reconciler sees it end.
    const result = await services.paid.plain(principal, request, facts, plan.write ? plan.key : null);
    const shared = await cache.remember(plan, result.res.status, result.generation, team, request.model, lock);
    const outcome = storeAvailable && cache.storeAvailable ? 'miss' : 'bypass';
    return { answer: upstreamAnswer(result, outcome, facts), shared };
  };

  if (!plan.read) return (await goUpstream(true)).answer; // no-cache: a fresh answer, still stored

  const held = await inSpan(services.tracer, 'cache.lookup', {}, async (span) => {
    const answer = cache.held(plan.key);
    span?.setAttribute('gateway.cache_found', Boolean(answer));
    return answer;
  });
  if (held) return sharedAnswer(plan.key, held, 'hit');

  const bound = services.paid.waitBound(request.model);
  const deadline = new Deadline(bound, cache.timers);
  const met = await cache.flights
    .meet(plan.key, async (flight) => {
      const shared = await inSpan(services.tracer, 'cache.coalesce_wait', { 'gateway.leader': 'replica' }, () => awaitFlight(flight, deadline));
      // AGAIN: its leader ended with nothing to share (an error, or its own team's or key's limit), so the key's next flight;
      // null: still at it past our bound.
      return shared === AGAIN || shared === null ? shared : sharedAnswer(plan.key, shared, 'coalesced');
    })
    .finally(() => deadline.end());
  if ('made' in met) return met.made;
  if (!met.handle) return (await goUpstream(cache.storeAvailable)).answer; // its leaders kept us waiting: go alone
  return cache.flights.lead(met.handle, async (share) => {
    // The shared store: its answer, or (Redis) the key's lock taken in the same step, or the replica that leads.
    const look = await inSpan(services.tracer, 'cache.store_lookup', {}, async (span) => {
      const seen = await cache.look(plan.key);
      span?.setAttribute('gateway.cache_found', 'answer' in seen);
      return seen;
    });
    if ('answer' in look) {
      share(look.answer);
      return sharedAnswer(plan.key, look.answer, look.answer.kind === 'pending' ? 'coalesced' : 'hit');
    }
    const remote = 'follow' in look
      ? await inSpan(services.tracer, 'cache.coalesce_wait', { 'gateway.leader': 'store' }, () => look.follow(bound))
      : look;
    if ('answer' in remote) {
      share(remote.answer);
      return sharedAnswer(plan.key, remote.answer, 'coalesced');
    }
    try {
      const { answer, shared } = await goUpstream('follow' in look || look.available, remote.lock);
      share(shared);
      return answer;
    } finally {
      remote.lock?.();
    }
  });
}
