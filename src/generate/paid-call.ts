// The one paid path: reserve the estimated cost, send the call upstream (plain or streamed),
// classify what came back, and settle it through one applyOutcome, for plain requests,
// streams, polls and the reconciler alike. A transport failure releases the reservation only
// when the request surely did no work; otherwise it stays reserved as outcome-unknown.
import type { Tracer } from '@opentelemetry/api';
import type { Principal } from '../auth/authenticator.js';
import type { Clock } from '../clock.js';
import type { GrantStore } from '../generations/grant-store.js';
import type { JobStore, PendingJob } from '../generations/job-store.js';
import type { RequestFacts } from '../http/context.js';
import type { AccountBalance } from '../quota/account-balance.js';
import type { QuotaService, Reservation } from '../quota/quota-service.js';
import { inSpan } from '../telemetry/spans.js';
import { classifyFailure, type Timeouts, type UpstreamClient, type UpstreamResponse } from '../upstream/client.js';
import { readGeneration, type GenerationFacts } from './generation.js';
import type { GenerateRequest } from './request-body.js';

export interface PaidPathDeps {
  quota: QuotaService;
  upstream: UpstreamClient;
  balance: AccountBalance;
  jobs: JobStore;
  grants: GrantStore;
  clock: Clock;
  /** The upstream timeouts of a model's category. */
  timeouts(model: string): Timeouts;
  /** cache.lock_ms: how long a dead leader goes unnoticed. */
  lockMs: number;
  /** A pending job under a cache key ended: the cache keeps its result (or forgets the job). */
  jobEnded(key: string, team: string, model: string, facts: GenerationFacts): Promise<void>;
  storeError(err: unknown): void;
  /** A pending job the store could not record: journaled and replayed like a settlement (src/ledger/settlement-journal.ts). */
  journalPending(job: PendingJob, grant: boolean): void;
  /** Spans for reserve, the upstream call and settle; none when traces are off. */
  tracer?: Tracer;
  /** A twin's saving, known once its shared job ended: the ledger (under the twin's key) and metrics count it. */
  onSaved(team: string, model: string, tokens: number, keyId: string): void;
}

export interface PlainResult {
  res: UpstreamResponse;
  generation: GenerationFacts;
}

const NO_GENERATION: GenerationFacts = { id: null, status: null, tokensSpent: 0, json: null };

export class PaidPath {
  constructor(private readonly deps: PaidPathDeps) {}

  /** Reserves the estimate for `model` against every limit of the key and its team, and the account floor (throws 402/429/503). */
  reserve(principal: Principal, model: string): Promise<Reservation> {
    const { quota } = this.deps;
    const estimate = quota.estimate(model);
    return inSpan(this.deps.tracer, 'quota.reserve', { 'gateway.team': principal.team.name, 'gateway.model': model, 'gateway.tokens_estimate': estimate }, () =>
      quota.reserve(principal, model, estimate),
    );
  }

  timeouts(model: string): Timeouts {
    return this.deps.timeouts(model);
  }

  /** No twin waits for another longer than that one may take upstream, plus the time to notice its death. */
  waitBound(model: string): number {
    return this.deps.timeouts(model).total_ms + this.deps.lockMs;
  }

  /**
   * Sends the reserved call (`transport`, plain or streamed). A transport failure releases or
   * keeps the reservation as the failure allows and throws the contract's error; an upstream
   * error status releases it (the caller relays the answer). Only a 200 is left to settle.
   */
  async send<T extends { status: number }>(reservation: Reservation, facts: RequestFacts, transport: () => Promise<T>): Promise<T> {
    return inSpan(this.deps.tracer, 'upstream.call', { 'gateway.team': reservation.team, 'gateway.model': reservation.model }, async (span) => {
      const started = performance.now();
      let res: T;
      try {
        res = await transport();
      } catch (err) {
        facts.upstreamMs = performance.now() - started;
        const failure = classifyFailure(err);
        span?.setAttribute('gateway.upstream_outcome', failure.outcome);
        if (failure.outcome === 'not_sent') await this.release(reservation);
        else await this.unknown(reservation);
        throw failure.gatewayError;
      }
      facts.upstreamMs = performance.now() - started;
      facts.upstreamStatus = res.status;
      facts.outcome = 'upstream';
      span?.setAttribute('gateway.upstream_status', res.status);
      if (res.status !== 200) {
        if (res.status === 402) this.deps.balance.exhausted();
        await this.release(reservation);
        facts.budgetRemaining = this.deps.quota.spendableAfter(reservation, 0);
      }
      return res;
    });
  }

  /** A plain generate call, reserved, sent and settled; `cacheKey` goes with a pending job (its result is cached when it ends). */
  async plain(principal: Principal, request: GenerateRequest, facts: RequestFacts, cacheKey: string | null): Promise<PlainResult> {
    const reservation = await this.reserve(principal, request.model);
    const res = await this.send(reservation, facts, () => this.deps.upstream.generate(request.raw, this.timeouts(request.model)));
    if (res.status !== 200) return { res, generation: NO_GENERATION };
    return { res, generation: await this.settleBody(reservation, res.body, facts, cacheKey) };
  }

  /** A 200 body read whole (plain, or a stream request upstream answered without streaming): settled here. */
  async settleBody(reservation: Reservation, body: Buffer, facts: RequestFacts, cacheKey: string | null): Promise<GenerationFacts> {
    const generation = readGeneration(body);
    facts.tokensSpent = generation.status === 'pending' ? 0 : generation.tokensSpent;
    // The key goes with a pending job only; a result in hand is cached by the caller. The team may poll its generation.
    await this.applyOutcome(reservation, generation, generation.status === 'pending' ? cacheKey : null, true);
    // A pending job keeps its estimate reserved; a failed one is released.
    const charged = generation.status === 'pending' ? reservation.amount : generation.status === 'failed' ? 0 : generation.tokensSpent;
    facts.budgetRemaining = this.deps.quota.spendableAfter(reservation, charged);
    return generation;
  }

  /**
   * Turns a generation into accounting, wherever it is seen (an answer, a stream's end, a poll,
   * the reconciler): completed settles what upstream charged, failed releases, pending keeps
   * the reservation and records the job. With `grant`, the reservation's team may poll the
   * generation, written with the settlement. A job's end also reaches the cache under its key.
   */
  async applyOutcome(reservation: Reservation, facts: GenerationFacts, cacheKey: string | null, grant = false): Promise<void> {
    const attributes = { 'gateway.team': reservation.team, 'gateway.model': reservation.model, 'gateway.generation_status': facts.status ?? 'none' };
    await inSpan(this.deps.tracer, 'quota.settle', attributes, async (span) => {
      span?.setAttribute('gateway.tokens_spent', facts.status === 'completed' ? facts.tokensSpent : 0);
      await this.settleOrKeep(reservation, facts, cacheKey, grant);
    });
    // Failed jobs are forgotten; the cache fails soft on its own, so this runs even when settling failed.
    if (cacheKey && facts.status !== 'pending') await this.deps.jobEnded(cacheKey, reservation.team, reservation.model, facts);
  }

  private async settleOrKeep(reservation: Reservation, facts: GenerationFacts, cacheKey: string | null, grant: boolean): Promise<void> {
    const { quota, jobs, clock, grants, storeError } = this.deps;
    try {
      if (facts.status === 'pending' && facts.id) {
        const job: PendingJob = { generation_id: facts.id, reservation, cache_key: cacheKey, created_at: clock.now() };
        try {
          if (grant) await grants.grant(facts.id, reservation.team, clock.now());
          await quota.keepPending(reservation);
          await jobs.add(job);
        } catch (err) {
          // Lost, the job would be charged upstream and never settled, and its team could not poll it.
          this.deps.journalPending(job, grant);
          throw err;
        }
        return;
      }
      const failed = facts.status === 'failed';
      await quota.settle(reservation, failed ? 0 : facts.tokensSpent, failed ? 'failed' : 'completed', grant ? facts.id : null);
    } catch (err) {
      storeError(err);
    }
  }

  /** The request failed before a generation existed (upstream error status, nothing sent): release it all. */
  async release(reservation: Reservation): Promise<void> {
    await this.deps.quota.settle(reservation, 0, 'error').catch(this.deps.storeError);
  }

  /** Upstream may or may not have done the work: keep the reservation until a poll or the lease decides. */
  async unknown(reservation: Reservation): Promise<void> {
    await this.deps.quota.outcomeUnknown(reservation).catch(this.deps.storeError);
  }

  /** Asks upstream how a generation stands (throws when it cannot be reached); `generation` is null unless a 200 with a status. */
  async poll(id: string): Promise<{ res: UpstreamResponse; generation: GenerationFacts | null }> {
    const res = await this.deps.upstream.read('GET', `/api/v2/generate/${encodeURIComponent(id)}`);
    const generation = res.status === 200 ? readGeneration(res.body) : null;
    return { res, generation: generation?.status ? generation : null };
  }

  /**
   * Polls a generation the gateway must account for now (a cut stream, a dead leader's).
   * When upstream cannot be read (unreachable, or an error status after the client's own
   * retries), the generation may still have been charged: it comes back pending and not `read`,
   * to be kept as a job the reconciler polls until it ends, never left to a lease (`onUnread`
   * hears why). Null when upstream does not know the id (404): nothing will settle it.
   */
  async pollOwed(id: string, onUnread: (reason: unknown) => void): Promise<{ generation: GenerationFacts; read: boolean } | null> {
    try {
      const { res, generation } = await this.poll(id);
      if (generation) return { generation, read: true };
      if (res.status === 404) return null;
      onUnread(new Error(`upstream answered ${res.status}`));
    } catch (err) {
      onUnread(err);
    }
    return { generation: { id, status: 'pending', tokensSpent: 0, json: null }, read: false };
  }

  /** A recorded job was seen to end (by a poll or the reconciler): account for it and forget it. */
  async finishJob(job: PendingJob, facts: GenerationFacts): Promise<void> {
    const { jobs, storeError } = this.deps;
    await this.applyOutcome(job.reservation, facts, job.cache_key);
    // Taken once, whoever sees the end first (a poll or the reconciler): each twin saved what the job cost.
    const twins = await jobs.takeTwins(job.generation_id).catch((err: unknown) => (storeError(err), []));
    if (facts.status === 'completed' && facts.tokensSpent > 0) {
      for (const twin of twins) this.deps.onSaved(twin.team, job.reservation.model, facts.tokensSpent, twin.key);
    }
    await jobs.remove(job.generation_id).catch(storeError);
  }

  /** A job seen still running: its reservation is kept. */
  keepPending(job: PendingJob): Promise<void> {
    return this.deps.quota.keepPending(job.reservation);
  }
}
