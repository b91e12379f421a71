// Async generations still running upstream (video, slow models): each keeps its team's
// reservation until it ends. The reconciler walks this list page by page when no client
// polls, and a lease (tryLock) makes sure only one replica does so at a time.
import type { StoreConnection } from '../store/connection.js';
import type { Reservation } from '../quota/quota-service.js';

export interface PendingJob {
  generation_id: string;
  reservation: Reservation;
  /** The cache key the result belongs under, when the request was cacheable. */
  cache_key: string | null;
  created_at: number;
}

/** A request handed a pending job: its team, and the key it came with ('' in records from before keys were). */
export interface Twin {
  team: string;
  key: string;
}

/** A page of pending jobs, and where the next one starts (null: this was the last). */
export interface JobPage {
  jobs: PendingJob[];
  next: string | null;
}

export interface JobStore {
  add(job: PendingJob): Promise<void>;
  get(generationId: string): Promise<PendingJob | null>;
  remove(generationId: string): Promise<void>;
  /**
   * A page of about `limit` jobs from `cursor` (null: the first page). Pages from the first to
   * the last list every job present all along at least once, whatever is added or removed
   * meanwhile. On Redis `limit` is HSCAN's COUNT hint: a page may hold more (a small hash
   * comes whole), and a job may come twice in one walk.
   */
  list(limit: number, cursor: string | null): Promise<JobPage>;
  /** A twin request was handed this job (it pays nothing; its saving is known when the job ends). */
  addTwin(generationId: string, twin: Twin): Promise<void>;
  /** The job's twins, one per twin request, taken atomically (a second take gets none). */
  takeTwins(generationId: string): Promise<Twin[]>;
  /** Takes or renews a named lease for `owner`; true if the caller holds it now. */
  tryLock(name: string, owner: string, ttlMs: number, now: number): Promise<boolean>;
}

interface PageRow {
  data: string;
  created_at: number;
  generation_id: string;
}

/** Twins of a job are kept as long as a job may run. */
const TWINS_KEPT_MS = 24 * 3600 * 1000;

/** A twin as the Redis list keeps it: JSON, or a bare team name as written before keys were kept. */
const readTwin = (raw: string): Twin => (raw.startsWith('{') ? (JSON.parse(raw) as Twin) : { team: raw, key: '' });

export function createJobStore(conn: StoreConnection): JobStore {
  if (conn.kind === 'redis') {
    const { redis, prefix } = conn;
    const jobs = `${prefix}jobs`;
    const lock = (name: string) => `${prefix}lock:${name}`;
    const twins = (id: string) => `${prefix}jobs:twins:${id}`;
    const parse = (raw: string | null) => (raw ? (JSON.parse(raw) as PendingJob) : null);
    return {
      add: async (job) => void (await redis.hset(jobs, job.generation_id, JSON.stringify(job))),
      get: async (id) => parse(await redis.hget(jobs, id)),
      remove: async (id) => void (await redis.hdel(jobs, id)),
      async list(limit, cursor) {
        const [next, entries] = await redis.hscan(jobs, cursor ?? '0', 'COUNT', limit);
        const page: PendingJob[] = [];
        for (let i = 1; i < entries.length; i += 2) page.push(JSON.parse(entries[i]) as PendingJob);
        return { jobs: page, next: next === '0' ? null : next };
      },
      async addTwin(id, twin) {
        const entry = JSON.stringify({ team: twin.team, key: twin.key });
        await Promise.all([redis.rpush(twins(id), entry), redis.pexpire(twins(id), TWINS_KEPT_MS)]);
      },
      async takeTwins(id) {
        const [[, entries]] = (await redis.multi().lrange(twins(id), 0, -1).del(twins(id)).exec()) as [[unknown, string[]]];
        return (entries ?? []).map(readTwin);
      },
      async tryLock(name, owner, ttlMs) {
        // Take the lease if free, or renew it if it is ours: one atomic script.
        const got = await redis.eval(
          `local v = redis.call('GET', KEYS[1])
           if v == false or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
           return 0`,
          1,
          lock(name),
          owner,
          ttlMs,
        );
        return got === 1;
      },
    };
  }
  const { db } = conn;
  db.exec(`
    CREATE TABLE IF NOT EXISTS pending_jobs (generation_id TEXT PRIMARY KEY, data TEXT NOT NULL, created_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS pending_jobs_order ON pending_jobs (created_at, generation_id);
    CREATE TABLE IF NOT EXISTS pending_twins (seq INTEGER PRIMARY KEY, generation_id TEXT NOT NULL, team TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS pending_twins_job ON pending_twins (generation_id);
    CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL);
  `);
  // Files from before twins kept their key: their twins read key ''.
  const twinColumns = (db.prepare(`PRAGMA table_info(pending_twins)`).all() as { name: string }[]).map((c) => c.name);
  if (!twinColumns.includes('key_id')) db.exec(`ALTER TABLE pending_twins ADD COLUMN key_id TEXT NOT NULL DEFAULT ''`);
  const q = {
    add: db.prepare(`INSERT OR REPLACE INTO pending_jobs VALUES (?, ?, ?)`),
    get: db.prepare(`SELECT data FROM pending_jobs WHERE generation_id = ?`).pluck(),
    remove: db.prepare(`DELETE FROM pending_jobs WHERE generation_id = ?`),
    // Keyset pages, oldest first: a job added meanwhile (created now) comes in a later page.
    first: db.prepare(`SELECT data, created_at, generation_id FROM pending_jobs
      ORDER BY created_at, generation_id LIMIT ?`),
    after: db.prepare(`SELECT data, created_at, generation_id FROM pending_jobs
      WHERE (created_at, generation_id) > (?, ?) ORDER BY created_at, generation_id LIMIT ?`),
    lock: db.prepare(`INSERT INTO locks VALUES (@name, @owner, @expires)
      ON CONFLICT(name) DO UPDATE SET owner = @owner, expires_at = @expires
      WHERE locks.owner = @owner OR locks.expires_at <= @now`),
    addTwin: db.prepare(`INSERT INTO pending_twins (generation_id, team, key_id) VALUES (?, ?, ?)`),
    takeTwins: db.prepare(`DELETE FROM pending_twins WHERE generation_id = ? RETURNING team, key_id AS key`),
  };
  const parse = (raw: unknown) => (typeof raw === 'string' ? (JSON.parse(raw) as PendingJob) : null);
  /** A cursor is the last row's `created_at:generation_id`; one row more than the page says whether another follows. */
  const page = (limit: number, cursor: string | null): JobPage => {
    const at = cursor?.indexOf(':') ?? -1;
    const rows = (cursor === null
      ? q.first.all(limit + 1)
      : q.after.all(Number(cursor.slice(0, at)), cursor.slice(at + 1), limit + 1)) as PageRow[];
    const last = rows.length > limit ? rows[limit - 1] : undefined;
    return {
      jobs: rows.slice(0, limit).map((row) => JSON.parse(row.data) as PendingJob),
      next: last ? `${last.created_at}:${last.generation_id}` : null,
    };
  };
  return {
    add: async (job) => void q.add.run(job.generation_id, JSON.stringify(job), job.created_at),
    get: async (id) => parse(q.get.get(id)),
    remove: async (id) => void q.remove.run(id),
    list: async (limit, cursor) => page(limit, cursor),
    addTwin: async (id, twin) => void q.addTwin.run(id, twin.team, twin.key),
    takeTwins: async (id) => q.takeTwins.all(id) as Twin[],
    tryLock: async (name, owner, ttlMs, now) =>
      q.lock.run({ name, owner, expires: now + ttlMs, now }).changes > 0,
  };
}
