// Settlements (and pending jobs' records) the store could not take are not lost: each is queued
// here and fsynced to this replica's journal file (./journal-log.ts) before the answer goes out,
// then replayed in order once the store answers, always before this replica reserves more for its team.
import type { PendingJob } from '../generations/job-store.js';
import type { SettleInput } from '../quota/quota-store.js';
import { ReplicasBehind } from '../store/replica-wait.js';
import { isPending, JournalLog, teamOf, type JournalEntry, type JournalLogDeps, type PendingRecord } from './journal-log.js';

export interface JournalDeps extends JournalLogDeps {
  /** Settles into the store (throws while it cannot). */
  settle(input: SettleInput): Promise<boolean>;
  /** Records a pending job in the store (throws while it cannot). */
  keepPending(record: PendingRecord): Promise<void>;
  /** How often a non-empty journal tries the store again. */
  retryMs?: number;
  /** Asks the store whether its replicas have every write so far (a WAIT; met, it calls `caughtUp`). */
  confirm?(): Promise<unknown>;
}

interface Entry {
  input: JournalEntry;
  /**
   * Set when the Redis master took it but its replicas were not known to have it: the team need
   * not wait for it. `epoch` (the connection's, when it was sent) and `at` (performance.now(),
   * after it was written) tell whether a later WAIT covers it; `stale` once the connection was
   * lost since, so the master that took it may be gone: then it is settled again.
   */
  behind: { epoch: number; at: number; stale: boolean } | null;
}

/**
 * Replays are idempotent: the reservation id is the key (a second settle is a no-op). A
 * settlement the Redis master took but its replicas did not confirm (store.redis_wait_replicas)
 * is kept too, blocking nothing, until a later WAIT covers it; if the connection is lost first, it
 * is settled again on whatever master is there now, so a failover cannot lose it.
 */
export class SettlementJournal {
  private entries: Entry[] = [];
  private readonly perTeam = new Map<string, number>();
  private replaying: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly log: JournalLog;
  /** Settlements written to the journal since start (a test and an operator can read it). */
  journaled = 0;
  replayed = 0;
  /** Entries taken over from journals of replicas that died. */
  adopted = 0;

  constructor(private readonly deps: JournalDeps) {
    this.log = new JournalLog(deps); // throws JournalInUse while another live process holds the file
    // A previous run under this name left settlements behind: they are replayed first.
    this.load(this.log.previous(), false);
    // Journals of replicas that died are taken over (copied into this one's file first).
    this.log.keepAlive((entries) => this.load(entries, true));
  }

  /** Entries of a previous run (`adopted`: of another process) queued for replay. */
  private load(entries: Iterable<JournalEntry>, adopted: boolean): void {
    for (const input of entries) {
      if (adopted) this.adopted++;
      this.hold({ input, behind: null });
    }
    if (this.entries.length > 0) this.schedule();
  }

  /** Settlements waiting for the store, or for its replicas. */
  get size(): number {
    return this.entries.length;
  }

  /** True while the team has settlements the store has not taken (replayed before its next reservation). */
  has(team: string): boolean {
    return this.perTeam.has(team);
  }

  /** Writes a pending job's record durably (fsync) and queues it for replay. */
  recordPending(job: PendingJob, grant: boolean): void {
    this.record({ kind: 'pending', job, grant });
  }

  /** Writes `input` durably (fsync) and queues it; with `behind`, the master took it in that epoch, its replicas may not have. */
  record(input: JournalEntry, behind?: { epoch: number }): void {
    this.journaled++;
    try {
      this.log.append(input);
    } catch (err) {
      // Kept in memory and replayed all the same; lost only if this process dies before the store returns.
      this.deps.onError(err);
    }
    this.hold({ input, behind: behind ? { epoch: behind.epoch, at: performance.now(), stale: false } : null });
    this.schedule();
  }

  /** A WAIT sent at `sentAt` in `epoch` was met: the settlements written before it are on the replicas. */
  caughtUp(sentAt: number, epoch: number): void {
    const covered = (e: Entry) => e.behind !== null && !e.behind.stale && e.behind.epoch === epoch && e.behind.at < sentAt;
    if (!this.entries.some(covered)) return;
    this.entries = this.entries.filter((e) => !covered(e));
    this.rewriteLog();
  }

  /** The connection was lost and is back in `epoch`: what earlier masters took unconfirmed is settled again. */
  reconnected(epoch: number): void {
    let stale = false;
    for (const e of this.entries) {
      if (e.behind && e.behind.epoch < epoch) stale = e.behind.stale = true;
    }
    if (stale) this.replay().catch(() => this.schedule());
  }

  /** Replays every queued settlement the store has not taken for sure; rejects (leaving them queued) while the store fails. */
  replay(): Promise<void> {
    this.replaying ??= this.drain().finally(() => (this.replaying = null));
    return this.replaying;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.log.stop();
  }

  /** Gives the file up: what it still holds is replayed by this file's next owner (a restart, or another replica). */
  close(): void {
    this.stop();
    this.log.release();
  }

  /** Not taken by the store, or taken by a master that may be gone. */
  private due(entry: Entry): boolean {
    return entry.behind === null || entry.behind.stale;
  }

  /**
   * Sends every due settlement at once: one connection runs them in the order sent (a team's
   * keys are on one Cluster slot) and they share one WAIT. Those the store refused stay queued,
   * in order, and the first refusal rejects; those its replicas did not confirm stay, without
   * blocking their team, until a WAIT covers them.
   */
  private async drain(): Promise<void> {
    const tried = new Set<Entry>();
    let refusal: unknown = null;
    for (;;) {
      const batch = this.entries.filter((e) => this.due(e) && !tried.has(e));
      if (batch.length === 0 || refusal !== null) break;
      // A settle answering false had reached the store after all: nothing to add.
      const results = await Promise.allSettled(batch.map((e) => this.apply(e.input)));
      const done = new Set<Entry>();
      batch.forEach((entry, n) => {
        tried.add(entry);
        const result = results[n];
        if (result.status === 'fulfilled') done.add(entry);
        else if (result.reason instanceof ReplicasBehind) this.taken(entry, result.reason.epoch);
        else refusal ??= result.reason;
      });
      for (const entry of done) this.taken(entry, null);
      this.entries = this.entries.filter((e) => !done.has(e));
      this.replayed += done.size;
    }
    this.rewriteLog();
    if (refusal !== null) throw refusal;
  }

  private apply(input: JournalEntry): Promise<unknown> {
    return isPending(input) ? this.deps.keepPending(input) : this.deps.settle(input);
  }

  private hold(entry: Entry): void {
    this.entries.push(entry);
    const team = teamOf(entry.input);
    if (!entry.behind) this.perTeam.set(team, (this.perTeam.get(team) ?? 0) + 1);
  }

  /** The store has it now (on its master at least; with `epoch`, unconfirmed there): its team need not wait for it any more. */
  private taken(entry: Entry, epoch: number | null): void {
    const blocking = entry.behind === null;
    if (epoch !== null) entry.behind = { epoch, at: performance.now(), stale: false };
    if (!blocking) return;
    const team = teamOf(entry.input);
    const left = (this.perTeam.get(team) ?? 1) - 1;
    if (left > 0) this.perTeam.set(team, left);
    else this.perTeam.delete(team);
  }

  /** Tries the store again later, then asks whether the replicas have the rest; again while anything is left. */
  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.replay()
        .then(async () => {
          if (this.entries.some((e) => e.behind && !e.behind.stale)) await this.deps.confirm?.();
        })
        .catch(() => {})
        .finally(() => {
          if (this.entries.length > 0) this.schedule();
        });
    }, this.deps.retryMs ?? 1_000);
    this.timer.unref();
  }

  /** After a replay the file goes away, or holds what is still queued. */
  private rewriteLog(): void {
    this.log.rewrite(this.entries.map((e) => e.input));
  }
}
