// Settles async jobs nobody polls: every interval, one replica (holding a store lease) polls
// upstream for each pending job and applies what it finds, so a video's reservation becomes
// its real charge even when the client went away.
import { randomUUID } from 'node:crypto';
import { Poller } from './poller.js';
import type { Services } from './services.js';

const BATCH = 100;

export class Reconciler {
  private readonly owner = randomUUID();
  private poller: Poller | undefined;

  constructor(private readonly services: Services) {}

  /** One pass; returns how many jobs it settled. */
  async runOnce(): Promise<number> {
    const { jobs, paid, clock, config, log } = this.services;
    const interval = config.quota.reconcile_interval_ms;
    if (!(await jobs.tryLock('reconciler', this.owner, interval * 3, clock.now()))) return 0;
    let settled = 0;
    for (const job of (await jobs.list(BATCH, null)).jobs.slice(0, BATCH)) {
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

  start(): void {
    const interval = this.services.config.quota.reconcile_interval_ms;
    this.poller = new Poller(() => this.runOnce(), this.services.storeError);
    this.poller.start(interval, interval);
  }

  stop(): void {
    this.poller?.stop();
  }
}
