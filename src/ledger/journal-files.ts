// Which file a replica's settlement journal is, and that no two processes ever write one: the
// default name carries host and pid, a lock beside it (refreshed while the process lives) marks
// it in use, and journals of replicas that died are claimed by one live replica (atomic rename).
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';

/** A lock not refreshed for this long belongs to a process that died (its host may be another one). */
export const LOCK_STALE_MS = 30_000;
/** How often a live process refreshes its lock (and looks for orphans). */
export const LOCK_REFRESH_MS = 5_000;

/**
 * Journals of one store in one directory: `<base>.<host>.<pid>.journal` (`base` has no dot, so
 * one store's family never takes in another's), and the name one file had before (`legacy`).
 */
export interface JournalFamily {
  dir: string;
  base: string;
  legacy: string | null;
}

const safe = (text: string) => text.replace(/[^A-Za-z0-9_.-]+/g, '_');

export function ownJournalFile(family: JournalFamily, host = hostname(), pid = process.pid): string {
  return join(family.dir, `${family.base}.${safe(host)}.${pid}.journal`);
}

const inFamily = (family: JournalFamily, name: string) => name === family.legacy || (name.startsWith(`${family.base}.`) && name.endsWith('.journal'));

const lockOf = (path: string) => `${path}.lock`;

interface LockOwner {
  host: string;
  pid: number;
  /** When the process started: the same pid with another start is a previous life (a container's pid 1, restarted). */
  started: number;
}

const STARTED = Math.round(Date.now() - process.uptime() * 1000);

function readOwner(lock: string): LockOwner | null {
  try {
    return JSON.parse(readFileSync(lock, 'utf8')) as LockOwner;
  } catch {
    return null; // gone, or cut by a crash while written
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True while a live process other than this one holds `path`'s lock. */
export function heldByOther(path: string, now = Date.now()): LockOwner | null {
  const lock = lockOf(path);
  const owner = readOwner(lock);
  if (!owner) return null;
  if (owner.host === hostname()) {
    // Same host: the pid says it; this very pid is this process (another journal in it) or a previous life.
    if (owner.pid === process.pid) return owner.started === STARTED ? owner : null;
    return alive(owner.pid) ? owner : null;
  }
  try {
    return now - statSync(lock).mtimeMs < LOCK_STALE_MS ? owner : null;
  } catch {
    return null;
  }
}

/** A live process holds the journal file: this one must not start on it. */
export class JournalInUse extends Error {
  override name = 'JournalInUse';
  constructor(path: string, holder: LockOwner) {
    super(
      `settlement journal ${path} is in use by process ${holder.pid} on ${holder.host}: two processes must never share one; ` +
        'give each its own quota.settlement_journal, or leave it empty for a file of its own',
    );
  }
}

/** Takes `path`'s lock for this process; throws JournalInUse while a live process holds it (or an I/O error). */
export function takeLock(path: string): void {
  const holder = heldByOther(path);
  if (holder) throw new JournalInUse(path, holder);
  mkdirSync(dirname(path), { recursive: true });
  writeLock(path);
}

function writeLock(path: string): void {
  const fd = openSync(lockOf(path), 'w');
  try {
    writeSync(fd, JSON.stringify({ host: hostname(), pid: process.pid, started: STARTED } satisfies LockOwner));
  } finally {
    closeSync(fd);
  }
}

/** Tells other replicas this process still lives. */
export function refreshLock(path: string): void {
  const now = new Date();
  utimesSync(lockOf(path), now, now);
}

export function dropLock(path: string): void {
  rmSync(lockOf(path), { force: true });
}

/** Journal files of `family` other than `own` whose process died; stale locks without a journal are removed. */
export function findOrphans(family: JournalFamily, own: string): string[] {
  if (!existsSync(family.dir)) return [];
  const orphans: string[] = [];
  for (const name of readdirSync(family.dir)) {
    const path = join(family.dir, name);
    if (path === own) continue;
    if (inFamily(family, name) && !heldByOther(path)) orphans.push(path);
    const journal = name.endsWith('.lock') ? path.slice(0, -'.lock'.length) : null;
    if (journal && inFamily(family, basename(journal)) && journal !== own && !existsSync(journal) && !heldByOther(journal)) {
      rmSync(path, { force: true });
    }
  }
  return orphans;
}

/**
 * Claims an orphan: renamed aside atomically, so one replica alone takes it; its lines, or null
 * if another took it first. The aside name is still of the family: should this process die
 * before its own journal holds the lines, another replica claims them again (replays are idempotent).
 */
export function claimOrphan(family: JournalFamily, orphan: string): { lines: string[]; done(): void } | null {
  const aside = join(family.dir, `${family.base}.claimed-${randomUUID()}.journal`);
  writeLock(aside); // held by this process from the start: no other live replica claims it again
  try {
    renameSync(orphan, aside);
  } catch {
    dropLock(aside);
    return null;
  }
  rmSync(lockOf(orphan), { force: true });
  const done = () => {
    rmSync(aside, { force: true });
    dropLock(aside);
  };
  return { lines: readFileSync(aside, 'utf8').split('\n'), done };
}
