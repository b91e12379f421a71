// Settlements the store could not take (Redis down, SQLite disk full) are not lost: each is
// appended to a local file and fsynced before the answer goes out, then replayed in order
// once the store answers again, and always before this replica reserves anything more for
// that team. Replays are idempotent: the reservation id is the key (a second settle is a no-op).
// One the Redis master took but its replicas did not confirm (store.redis_wait_replicas) is
// kept too and settled again until they do, so a failover cannot lose it; it blocks nothing.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { QuotaStore, SettleInput } from '../quota/quota-store.js';
import { ReplicasBehind } from '../store/replica-wait.js';

export interface JournalDeps {
  /** The file beside the process; null keeps the journal in memory only (an in-memory store). */
  path: string | null;
  /** Settles into the store (throws while it cannot). */
  settle(input: SettleInput): Promise<boolean>;
  onError(err: unknown): void;
  /** How often a non-empty journal tries the store again. */
  retryMs?: number;
}

interface Entry {
  input: SettleInput;
  /** On the master already, its replicas not known to have it: replayed, but no reason to wait for. */
  behind: boolean;
}

export class SettlementJournal {
  private entries: Entry[] = [];
  private readonly perTeam = new Map<string, number>();
  private replaying: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  /** Settlements written to the journal since start (a test and an operator can read it). */
  journaled = 0;
  replayed = 0;

  constructor(private readonly deps: JournalDeps) {
    const { path } = deps;
    if (path && existsSync(path)) {
      // A previous run left settlements behind: they are replayed first (a torn last line is skipped).
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (!line) continue;
        try {
          this.hold(JSON.parse(line) as SettleInput, false);
        } catch {
          // a line cut by a crash mid-write: its settlement never reached the client's answer
        }
      }
      if (this.entries.length > 0) this.schedule();
    }
  }

  /** Settlements waiting for the store. */
  get size(): number {
    return this.entries.length;
  }

  /** True while the team has settlements the store has not taken (replayed before its next reservation). */
  has(team: string): boolean {
    return this.perTeam.has(team);
  }

  /** Writes `input` durably (fsync) and queues it for replay; `behind`: the master took it, its replicas may not have. */
  record(input: SettleInput, behind = false): void {
    this.journaled++;
    try {
      this.append(`${JSON.stringify(input)}\n`);
    } catch (err) {
      // Kept in memory and replayed all the same; lost only if this process dies before the store returns.
      this.deps.onError(err);
    }
    this.hold(input, behind);
    this.schedule();
  }

  /** Replays every queued settlement, in order; rejects (leaving the rest queued) while the store fails. */
  replay(): Promise<void> {
    this.replaying ??= this.drain().finally(() => (this.replaying = null));
    return this.replaying;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Sends every queued settlement at once: one connection runs them in the order sent (a
   * team's keys are on one Cluster slot) and they share one WAIT. Those the store refused stay
   * queued, in order, and the first refusal rejects; those its replicas did not confirm stay
   * queued without blocking their team, and are tried again later.
   */
  private async drain(): Promise<void> {
    const tried = new Set<Entry>();
    let refusal: unknown = null;
    for (;;) {
      const batch = this.entries.filter((e) => !tried.has(e));
      if (batch.length === 0 || refusal !== null) break;
      // A settle answering false had reached the store after all: nothing to add.
      const results = await Promise.allSettled(batch.map((e) => this.deps.settle(e.input)));
      const done = new Set<Entry>();
      batch.forEach((entry, n) => {
        tried.add(entry);
        const result = results[n];
        if (result.status === 'fulfilled') done.add(entry);
        else if (result.reason instanceof ReplicasBehind) this.unblock(entry);
        else refusal ??= result.reason;
      });
      for (const entry of done) this.unblock(entry);
      this.entries = this.entries.filter((e) => !done.has(e));
      this.replayed += done.size;
    }
    this.rewrite();
    if (this.entries.length > 0) this.schedule();
    if (refusal !== null) throw refusal;
  }

  private hold(input: SettleInput, behind: boolean): void {
    this.entries.push({ input, behind });
    if (!behind) this.perTeam.set(input.team, (this.perTeam.get(input.team) ?? 0) + 1);
  }

  /** The store has it now (on its master at least): its team need not wait for it any more. */
  private unblock(entry: Entry): void {
    if (entry.behind) return;
    entry.behind = true;
    const left = (this.perTeam.get(entry.input.team) ?? 1) - 1;
    if (left > 0) this.perTeam.set(entry.input.team, left);
    else this.perTeam.delete(entry.input.team);
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.replay().catch(() => this.schedule());
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

/**
 * The quota store behind the journal: a settlement the store cannot take is journaled (and
 * counts as taken), and a team with journaled settlements has them replayed before its next
 * reservation on this replica, so its `spent` is current before anything more is reserved.
 */
export function journaled(store: QuotaStore, journal: SettlementJournal): QuotaStore {
  return {
    ...store,
    async reserve(input) {
      if (journal.has(input.team)) await journal.replay();
      return store.reserve(input);
    },
    async settle(input) {
      try {
        return await store.settle(input);
      } catch (err) {
        // On the master, not confirmed on its replicas: settled, and kept until they have it.
        if (err instanceof ReplicasBehind) {
          journal.record(input, true);
          return err.settled;
        }
        journal.record(input);
        throw new JournaledSettlement(err);
      }
    },
  };
}

/** The store refused a settlement and the journal took it: reported as a store error, never lost. */
export class JournaledSettlement extends Error {
  override name = 'JournaledSettlement';
  constructor(cause: unknown) {
    super('settlement journaled until the store answers', { cause });
  }
}
