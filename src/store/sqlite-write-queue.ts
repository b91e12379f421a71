// Group commit on SQLite: the hot writes asked for in one turn of the event loop (reserves,
// settlements, cache entries, grants) run at the end of that turn in one BEGIN IMMEDIATE
// transaction, in the order asked, each a whole decision of its own. A commit costs about as
// much as the writes in it, so one commit for many saves most of that. A caller's promise
// settles only after the commit: nothing is answered before it is durable.
import { setImmediate } from 'node:timers';
import type { Database, Transaction } from 'better-sqlite3';

interface Job {
  work: () => unknown;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** A job of the batch threw: the batch is rolled back, the job fails, the others run again. */
class JobFailed extends Error {
  constructor(
    readonly index: number,
    override readonly cause: unknown,
  ) {
    super('a queued SQLite write failed');
  }
}

export class SqliteWriteQueue {
  private jobs: Job[] = [];
  private readonly batch: Transaction<(jobs: Job[]) => unknown[]>;

  constructor(db: Database) {
    this.batch = db.transaction((jobs: Job[]) => {
      const results = new Array<unknown>(jobs.length);
      for (let n = 0; n < jobs.length; n++) {
        try {
          results[n] = jobs[n].work();
        } catch (err) {
          throw new JobFailed(n, err);
        }
      }
      return results;
    });
  }

  /**
   * Runs `work` (synchronous statements only, no transaction of its own) in this turn's batch.
   * It must be a decision that can run again: a failure elsewhere in the batch reruns it.
   */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job: Job = { work, resolve: resolve as (value: unknown) => void, reject };
      // setImmediate from node:timers: test fake timers replace the global one, not this.
      if (this.jobs.push(job) === 1) setImmediate(this.flush);
    });
  }

  /** Runs what is queued now (also before the database closes); the end of the turn finds nothing left. */
  readonly flush = (): void => {
    // Every other transaction on this connection is synchronous, so none is open here and
    // BEGIN IMMEDIATE starts a real one (not a savepoint inside someone else's).
    const jobs = this.jobs;
    this.jobs = [];
    while (jobs.length > 0) {
      let results: unknown[];
      try {
        results = this.batch.immediate(jobs);
      } catch (err) {
        if (err instanceof JobFailed) {
          jobs.splice(err.index, 1)[0].reject(err.cause);
          continue;
        }
        for (const job of jobs) job.reject(err); // BEGIN or COMMIT failed: nothing was written
        return;
      }
      jobs.forEach((job, n) => job.resolve(results[n]));
      return;
    }
  };
}
