// The settlement journal's own file: one JSON line an entry, appended and fsynced before the
// answer goes out, rewritten aside and renamed over once replays took some. Its lock is held while
// the process lives, and the journals of replicas that died are copied into it (./journal-files.ts).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PendingJob } from '../generations/job-store.js';
import type { SettleInput } from '../quota/quota-store.js';
import { claimOrphan, dropLock, findOrphans, JournalInUse, LOCK_REFRESH_MS, refreshLock, takeLock, type JournalFamily } from './journal-files.js';

/** A pending job the store could not record: replayed as grant (if `grant`), reservation kept, job listed. Each step is idempotent. */
export interface PendingRecord {
  kind: 'pending';
  job: PendingJob;
  grant: boolean;
}

/** A journal line: a settlement (written without `kind`, as before pending records were), or a pending job. */
export type JournalEntry = SettleInput | PendingRecord;

export const isPending = (entry: JournalEntry): entry is PendingRecord => 'kind' in entry && entry.kind === 'pending';
export const teamOf = (entry: JournalEntry): string => (isPending(entry) ? entry.job.reservation.team : entry.team);

export interface JournalLogDeps {
  /** This process's file (locked while it lives: another live process's lock refuses the start); null keeps nothing on disk. */
  path: string | null;
  /** The default-named journals beside it: those of replicas that died are claimed and copied in here. */
  family?: JournalFamily | null;
  onError(err: unknown): void;
}

export class JournalLog {
  private heartbeat: NodeJS.Timeout | undefined;

  /** Takes the file's lock: throws JournalInUse while another live process holds it; any other failure is reported, and appends are tried all the same. */
  constructor(private readonly deps: JournalLogDeps) {
    const { path } = deps;
    if (!path) return;
    try {
      takeLock(path);
    } catch (err) {
      if (err instanceof JournalInUse) throw err; // another live process holds this file: no start
      deps.onError(err); // a directory it cannot write: entries are kept in memory, as when an append fails
    }
  }

  /** The entries a previous run under this name left behind. */
  previous(): Iterable<JournalEntry> {
    const { path } = this.deps;
    if (!path || !existsSync(path)) return [];
    return Array.from(parse(readFileSync(path, 'utf8').split('\n')), ({ entry }) => entry);
  }

  /**
   * Refreshes the lock every LOCK_REFRESH_MS and claims the journals of replicas that died (now,
   * then at each beat): `adopt` is handed each one's entries, every one copied into this file
   * (fsync) as it is read, and must take them all; the orphan is removed after.
   */
  keepAlive(adopt: (entries: Iterable<JournalEntry>) => void): void {
    const { path, family, onError } = this.deps;
    if (!path) return;
    const beat = (refresh: boolean) => {
      try {
        if (refresh) refreshLock(path);
        if (family) this.adoptOrphans(family, path, adopt);
      } catch (err) {
        onError(err); // tried again at the next beat
      }
    };
    beat(false);
    this.heartbeat = setInterval(() => beat(true), LOCK_REFRESH_MS);
    this.heartbeat.unref();
  }

  /** One replica alone gets each orphan's file. */
  private adoptOrphans(family: JournalFamily, path: string, adopt: (entries: Iterable<JournalEntry>) => void): void {
    for (const orphan of findOrphans(family, path)) {
      const claimed = claimOrphan(family, orphan);
      if (!claimed) continue;
      adopt(this.copied(claimed.lines));
      claimed.done();
    }
  }

  /** Another process's lines, each appended to this one's file before it is handed on. */
  private *copied(lines: string[]): Iterable<JournalEntry> {
    for (const { line, entry } of parse(lines)) {
      this.write(`${line}\n`);
      yield entry;
    }
  }

  /** Writes `entry` durably (fsync); throws if it cannot. */
  append(entry: JournalEntry): void {
    this.write(`${JSON.stringify(entry)}\n`);
  }

  private write(text: string): void {
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

  /** The file holds just `entries` from now on (none: it goes away): written aside, then renamed over. */
  rewrite(entries: JournalEntry[]): void {
    const { path } = this.deps;
    if (!path || !existsSync(path)) return;
    try {
      if (entries.length === 0) return rmSync(path, { force: true });
      const next = `${path}.next`;
      const fd = openSync(next, 'w');
      try {
        writeSync(fd, entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(next, path);
    } catch (err) {
      this.deps.onError(err); // replaying the same lines again later is harmless
    }
  }

  stop(): void {
    clearInterval(this.heartbeat);
  }

  /** Gives the file up: what it still holds is replayed by its next owner (a restart, or another replica). */
  release(): void {
    try {
      if (this.deps.path) dropLock(this.deps.path);
    } catch (err) {
      this.deps.onError(err); // a lock left behind is seen dead by its pid
    }
  }
}

/** Journal lines, each with its entry; a torn line is skipped. */
function* parse(lines: string[]): Iterable<{ line: string; entry: JournalEntry }> {
  for (const line of lines) {
    if (!line) continue;
    let entry: JournalEntry;
    try {
      entry = JSON.parse(line) as JournalEntry;
    } catch {
      continue; // a line cut by a crash mid-write: its settlement never reached the client's answer
    }
    yield { line, entry };
  }
}
