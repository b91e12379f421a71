// Settles async jobs nobody polls: every interval, one replica (holding a store lease) polls
// upstream for the next pending jobs of its walk and applies what it finds, so a video's
// reservation becomes its real charge even when the client went away.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { JobStore, PendingJob } from './generations/job-store.js';
import type { PaidPath } from './generate/paid-call.js';
import { Poller } from './poller.js';

/** Upstream polls a pass makes at most (upstream rate-limits them). */
const BATCH = 100;

/**
 * Poll answers after which upstream will never say how the job ended: the job is dropped and its
 * lease gives the budget back. Not 401 (the gateway's own key), 402 (the balance, topped up
 * later), 408, 409, 429 (transient): those jobs are polled again next walk, like a 5xx.
 */
const NEVER_ENDS = new Set([400, 403, 404, 410, 422]);

/** The walk has read its last page: once its held jobs are polled, the next pass starts over. */
const END = Symbol('walk read');

export interface ReconcilerDeps {
  jobs: JobStore;
  paid: Pick<PaidPath, 'poll' | 'finishJob' | 'keepPending'>;
  clock: Clock;
  /** quota.reconcile_interval_ms: between passes; the walk's lease lasts three. */
  intervalMs: number;
  log: Pick<Logger, 'warn'>;
  /** Hears a pass that failed on the store. */
  storeError(err: unknown): void;
}

/**
 * Each pass polls the next BATCH jobs of a walk over every pending job, resumed where the last
 * pass stopped, so jobs that never end (upstream 5xx for them) cannot hold the others back: a
 * job pending all along is polled once a walk, and a walk over N jobs takes ceil(N / BATCH)
 * passes (one more when its last page comes empty).
 */
export class Reconciler {
  private readonly owner = randomUUID();
  private poller: Poller | undefined;
  /** Where the walk's next page starts: null at its beginning, END once its last page is read. */
  private cursor: string | null | typeof END = null;
  /** Jobs a page listed beyond what its pass polled, by id: read again before their turn. */
  private held: string[] = [];
  private pass: Promise<number> | undefined;

  constructor(private readonly deps: ReconcilerDeps) {}

  /** One pass; returns how many jobs it settled. Called while a pass runs, it waits for that pass (they share the walk). */
  runOnce(): Promise<number> {
    this.pass ??= this.run().finally(() => (this.pass = undefined));
    return this.pass;
  }

  private async run(): Promise<number> {
    const { jobs, paid, clock, intervalMs, log } = this.deps;
    if (!(await jobs.tryLock('reconciler', this.owner, intervalMs * 3, clock.now()))) {
      // Another replica walks now; should the lease come back, a fresh walk starts.
      this.cursor = null;
      this.held = [];
      return 0;
    }
    let settled = 0;
    for (const job of await this.nextBatch()) {
      try {
        const { res, generation } = await paid.poll(job.generation_id);
        if (NEVER_ENDS.has(res.status)) {
          // Upstream forgot it (404) or refuses to tell (410, 403...): the lease gives the budget back.
          if (res.status !== 404) {
            log.warn({ generation_id: job.generation_id, team: job.reservation.team, status: res.status }, 'reconciler: upstream will not tell how this job ended; dropped');
          }
          await jobs.remove(job.generation_id);
          continue;
        }
        if (!generation) continue;
        if (generation.status === 'completed' || generation.status === 'failed') {
          await paid.finishJob(job, generation);
          settled++;
        } else {
          await paid.keepPending(job);
        }
      } catch (err) {
        log.warn({ err, generation_id: job.generation_id }, 'reconciler: poll failed');
      }
    }
    return settled;
  }

  /** The walk's next BATCH jobs: the held ones first, then further pages; a walk read and polled to its end starts over. */
  private async nextBatch(): Promise<PendingJob[]> {
    const { jobs } = this.deps;
    if (this.cursor === END && this.held.length === 0) this.cursor = null;
    const batch: PendingJob[] = [];
    while (batch.length < BATCH && this.held.length > 0) {
      // A client's poll may have ended it since it was listed: settling it again would be wrong.
      const job = await jobs.get(this.held.shift()!);
      if (job) batch.push(job);
    }
    while (batch.length < BATCH && this.cursor !== END) {
      const page = await jobs.list(BATCH - batch.length, this.cursor);
      this.cursor = page.next ?? END;
      const room = BATCH - batch.length;
      batch.push(...page.jobs.slice(0, room));
      this.held.push(...page.jobs.slice(room).map((job) => job.generation_id));
    }
    return batch;
  }

  start(): void {
    const { intervalMs, storeError } = this.deps;
    this.poller = new Poller(() => this.runOnce(), storeError);
    this.poller.start(intervalMs, intervalMs);
  }

  stop(): void {
    this.poller?.stop();
  }
}
