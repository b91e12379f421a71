// Turns an upstream generation into accounting, the same way wherever it is seen (the
// generate answer, a client's poll, the reconciler): completed settles what upstream
// charged, failed releases the reservation, pending keeps it and records the job; a job's
// end also reaches the cache under the job's key.
import type { PendingJob } from '../generations/job-store.js';
import type { Services } from '../services.js';
import type { Reservation } from '../quota/quota-service.js';
import type { GenerationFacts } from './generation.js';

/**
 * With `grant`, the reservation's team is also let poll the generation (the request that
 * started it): written with the settlement, in the same commit or round trip.
 */
export async function applyOutcome(
  services: Services,
  reservation: Reservation,
  facts: GenerationFacts,
  cacheKey: string | null,
  grant = false,
): Promise<void> {
  const { quota, jobs, clock } = services;
  try {
    if (facts.status === 'pending' && facts.id) {
      if (grant) await services.grants.grant(facts.id, reservation.team, clock.now()).catch(services.storeError);
      await quota.keepPending(reservation);
      await jobs.add({ generation_id: facts.id, reservation, cache_key: cacheKey, created_at: clock.now() });
      return;
    }
    const failed = facts.status === 'failed';
    await quota.settle(reservation, failed ? 0 : facts.tokensSpent, failed ? 'failed' : 'completed', grant ? facts.id : null);
  } catch (err) {
    // Upstream has answered (and maybe charged): the client still gets its answer; the
    // reservation's lease returns the budget, and the error is logged for the operator.
    services.storeError(err);
  }
  // A job's result goes under the key of the request that started it (failed ones are forgotten).
  // The cache fails soft on its own, so this runs even when settling failed.
  if (cacheKey && facts.status !== 'pending') await services.cache.jobEnded(cacheKey, reservation.team, reservation.model, facts);
}

/** A recorded job was seen to end (by a poll or the reconciler): account for it and forget it. */
export async function finishJob(services: Services, job: PendingJob, facts: GenerationFacts): Promise<void> {
  await applyOutcome(services, job.reservation, facts, job.cache_key);
  await services.jobs.remove(job.generation_id).catch(services.storeError);
}

/** The request failed before a generation existed (upstream error status): release it all. */
export async function releaseReservation(services: Services, reservation: Reservation): Promise<void> {
  try {
    await services.quota.settle(reservation, 0, 'error');
  } catch (err) {
    services.storeError(err);
  }
}
