// Settlements the store could not take (Redis down, SQLite disk full) are not lost: each is
// appended to a local file and fsynced before the answer goes out, then replayed in order
// once the store answers again, and always before this replica reserves anything more for
// that team. Replays are idempotent: the reservation id is the key (a second settle is a no-op).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { QuotaStore, SettleInput } from '../quota/quota-store.js';

export interface JournalDeps {
  /** The file beside the process; null keeps the journal in memory only (an in-memory store). */
  path: string | null;
  /** Settles into the store (throws while it cannot). */
  settle(input: SettleInput): Promise<boolean>;
  onError(err: unknown): void;
  /** How often a non-empty journal tries the store again. */
  retryMs?: number;
}

export class SettlementJournal {
  private entries: SettleInput[] = [];
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
          this.hold(JSON.parse(line) as SettleInput);
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

  has(team: string): boolean {
    return this.perTeam.has(team);
  }

  /** Writes `input` durably (fsync) and queues it for replay. */
  record(input: SettleInput): void {
    this.journaled++;
    try {
      this.append(`${JSON.stringify(input)}\n`);
    } catch (err) {
      // Kept in memory and replayed all the same; lost only if this process dies before the store returns.
      this.deps.onError(err);
    }
    this.hold(input);
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

  private async drain(): Promise<void> {
    while (this.entries.length > 0) {
      const input = this.entries[0];
      await this.deps.settle(input); // false: it had reached the store after all; nothing to add
      this.entries.shift();
      this.replayed++;
      const left = (this.perTeam.get(input.team) ?? 1) - 1;
      if (left > 0) this.perTeam.set(input.team, left);
      else this.perTeam.delete(input.team);
    }
    this.rewrite();
  }

  private hold(input: SettleInput): void {
    this.entries.push(input);
    this.perTeam.set(input.team, (this.perTeam.get(input.team) ?? 0) + 1);
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
        writeSync(fd, this.entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
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
