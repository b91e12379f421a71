// The paid path: reserve the estimated cost, call upstream with the nb_ key, settle with
// what it charged. Transport failures release the reservation only when the request surely
// did no work; otherwise it stays reserved as outcome-unknown until a poll or its lease.
import type { Principal } from '../auth/authenticator.js';
import type { RequestFacts } from '../http/context.js';
import type { Services } from '../services.js';
import { classifyFailure, type UpstreamResponse } from '../upstream/client.js';
import { readGeneration, type GenerationFacts } from './generation.js';
import type { GenerateRequest } from './request-body.js';
import { applyOutcome, releaseReservation } from './settlement.js';

export interface ForwardResult {
  res: UpstreamResponse;
  generation: GenerationFacts;
}

export async function forwardGenerate(
  services: Services,
  principal: Principal,
  request: GenerateRequest,
  facts: RequestFacts,
  cacheKey: string | null,
): Promise<ForwardResult> {
  const { quota, upstream, catalog, config, balance } = services;
  const team = principal.team;
  const reservation = await quota.reserve(team, request.model, quota.estimate(request.model));
  const started = performance.now();
  let res: UpstreamResponse;
  try {
    res = await upstream.generate(request.raw, config.upstream.timeouts[catalog.category(request.model)]);
  } catch (err) {
    facts.upstreamMs = performance.now() - started;
    const failure = classifyFailure(err);
    if (failure.outcome === 'not_sent') await releaseReservation(services, reservation);
    else await quota.outcomeUnknown(reservation).catch(services.storeError);
    throw failure.gatewayError;
  }
  facts.upstreamMs = performance.now() - started;
  facts.upstreamStatus = res.status;
  facts.outcome = 'upstream';
  if (res.status !== 200) {
    if (res.status === 402) balance.exhausted();
    await releaseReservation(services, reservation);
    return { res, generation: readGeneration(Buffer.alloc(0)) };
  }
  const generation = readGeneration(res.body);
  facts.tokensSpent = generation.status === 'pending' ? 0 : generation.tokensSpent;
  // The key goes with a pending job only: its result is cached when the job is seen to end.
  // A result upstream has already given is cached by the caller (src/cache/cached-generate.ts).
  // The team may poll its generation: granted with the settlement.
  await applyOutcome(services, reservation, generation, generation.status === 'pending' ? cacheKey : null, true);
  return { res, generation };
}
