// Settles async jobs nobody polls: every interval, one replica (holding a store lease) polls
// upstream for the next pending jobs of its walk and applies what it finds, so a video's
// reservation becomes its real charge even when the client went away.
import { randomUUID } from 'node:crypto';
import type { PendingJob } from './generations/job-store.js';
import { Poller } from './poller.js';
import type { Services } from './services.js';

/** Upstream polls a pass makes at most (upstream rate-limits them). */
const BATCH = 100;

/** The walk has read its last page: once its held jobs are polled, the next pass starts over. */
const END = Symbol('walk read');

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

  constructor(private readonly services: Services) {}

  /** One pass; returns how many jobs it settled. Called while a pass runs, it waits for that pass (they share the walk). */
  runOnce(): Promise<number> {
    this.pass ??= this.run().finally(() => (this.pass = undefined));
    return this.pass;
  }

  private async run(): Promise<number> {
    const { jobs, paid, clock, config, log } = this.services;
    const interval = config.quota.reconcile_interval_ms;
    if (!(await jobs.tryLock('reconciler', this.owner, interval * 3, clock.now()))) {
      // Another replica walks now; should the lease come back, a fresh walk starts.
      this.cursor = null;
      this.held = [];
      return 0;
    }
    let settled = 0;
    for (const job of await this.nextBatch()) {
      try {
        const { res, generation } = await paid.poll(job.generation_id);
        if (res.status === 404) {
          await jobs.remove(job.generation_id); // upstream forgot it: the lease gives the budget back
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
    const { jobs } = this.services;
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
    const interval = this.services.config.quota.reconcile_interval_ms;
    this.poller = new Poller(() => this.runOnce(), this.services.storeError);
    this.poller.start(interval, interval);
  }

  stop(): void {
    this.poller?.stop();
  }
}
