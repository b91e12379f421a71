// Settlements the store could not take (Redis down, SQLite disk full) are not lost: each is
// appended to a local file and fsynced before the answer goes out, then replayed in order
// once the store answers again, and always before this replica reserves anything more for
// that team. Replays are idempotent: the reservation id is the key (a second settle is a no-op).
// One the Redis master took but its replicas did not confirm (store.redis_wait_replicas) is
// kept too, blocking nothing, until a later WAIT covers it; if the connection is lost first, it
// is settled again on whatever master is there now, so a failover cannot lose it. A pending
// job's record (its grant, its kept reservation, its place in the reconciler's list) goes the same way.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PendingJob } from '../generations/job-store.js';
import { claimOrphan, dropLock, findOrphans, JournalInUse, LOCK_REFRESH_MS, refreshLock, takeLock, type JournalFamily } from './journal-files.js';
import type { SettleInput } from '../quota/quota-store.js';
import { ReplicasBehind } from '../store/replica-wait.js';

/** A pending job the store could not record: replayed as grant (if `grant`), reservation kept, job listed. Each step is idempotent. */
export interface PendingRecord {
  kind: 'pending';
  job: PendingJob;
  grant: boolean;
}

/** A journal line: a settlement (written without `kind`, as before pending records were), or a pending job. */
export type JournalEntry = SettleInput | PendingRecord;

const isPending = (entry: JournalEntry): entry is PendingRecord => 'kind' in entry && entry.kind === 'pending';
const teamOf = (entry: JournalEntry): string => (isPending(entry) ? entry.job.reservation.team : entry.team);

export interface JournalDeps {
  /** This process's file (locked while it lives: another live process's lock refuses the start); null keeps it in memory only. */
  path: string | null;
  /** The default-named journals beside it: those of replicas that died are claimed and replayed here. */
  family?: JournalFamily | null;
  /** Settles into the store (throws while it cannot). */
  settle(input: SettleInput): Promise<boolean>;
  /** Records a pending job in the store (throws while it cannot). */
  keepPending(record: PendingRecord): Promise<void>;
  onError(err: unknown): void;
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

export class SettlementJournal {
  private entries: Entry[] = [];
  private readonly perTeam = new Map<string, number>();
  private replaying: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Settlements written to the journal since start (a test and an operator can read it). */
  journaled = 0;
  replayed = 0;
  /** Entries taken over from journals of replicas that died. */
  adopted = 0;

  constructor(private readonly deps: JournalDeps) {
    const { path } = deps;
    if (!path) return;
    try {
      takeLock(path);
    } catch (err) {
      if (err instanceof JournalInUse) throw err; // another live process holds this file: no start
      deps.onError(err); // a directory it cannot write: entries are kept in memory, as when an append fails
    }
    // A previous run under this name left settlements behind: they are replayed first.
    if (existsSync(path)) this.load(readFileSync(path, 'utf8').split('\n'), false);
    const beat = (refresh: boolean) => {
      try {
        if (refresh) refreshLock(path);
        this.adoptOrphans();
      } catch (err) {
        deps.onError(err); // tried again at the next beat
      }
    };
    beat(false);
    this.heartbeat = setInterval(() => beat(true), LOCK_REFRESH_MS);
    this.heartbeat.unref();
  }

  /** Journal lines of a previous run (`copy`: another process's, appended to this one's file first); a torn line is skipped. */
  private load(lines: string[], copy: boolean): void {
    for (const line of lines) {
      if (!line) continue;
      let input: JournalEntry;
      try {
        input = JSON.parse(line) as JournalEntry;
      } catch {
        continue; // a line cut by a crash mid-write: its settlement never reached the client's answer
      }
      if (copy) {
        this.append(`${line}\n`);
        this.adopted++;
      }
      this.hold({ input, behind: null });
    }
    if (this.entries.length > 0) this.schedule();
  }

  /** Claims the journals of replicas that died and takes their entries over (one replica alone gets each file). */
  private adoptOrphans(): void {
    const { path, family } = this.deps;
    if (!path || !family) return;
    for (const orphan of findOrphans(family, path)) {
      const claimed = claimOrphan(family, orphan);
      if (!claimed) continue;
      this.load(claimed.lines, true);
      claimed.done();
    }
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
      this.append(`${JSON.stringify(input)}\n`);
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
    this.rewrite();
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
    clearInterval(this.heartbeat);
  }

  /** Gives the file up: what it still holds is replayed by this file's next owner (a restart, or another replica). */
  close(): void {
    this.stop();
    try {
      if (this.deps.path) dropLock(this.deps.path);
    } catch (err) {
      this.deps.onError(err); // a lock left behind is seen dead by its pid
    }
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
    this.rewrite();
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

  private append(text: string): void {
    const { path } = this.deps;
    if (!path) return;
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, 'a');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** After a replay the file goes away, or holds what is still queued: written aside, then renamed over. */
  private rewrite(): void {
    const { path } = this.deps;
    if (!path || !existsSync(path)) return;
    try {
      if (this.entries.length === 0) return rmSync(path, { force: true });
      const next = `${path}.next`;
      const fd = openSync(next, 'w');
      try {
        writeSync(fd, this.entries.map((e) => `${JSON.stringify(e.input)}\n`).join(''));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(next, path);
    } catch (err) {
      this.deps.onError(err); // replaying the same lines again later is harmless
    }
  }
}
