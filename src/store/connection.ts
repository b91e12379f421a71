// Opens the backend named by STORE_URL: `sqlite:<path>` (embedded, one instance) or
// `redis://host:port[/db]` (shared by replicas). Feature stores (teams, keys, quota, cache,
// ledger) each take this connection and implement their own interface on both backends.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { SqliteWriteQueue } from './sqlite-write-queue.js';

export interface SqliteConnection {
  kind: 'sqlite';
  db: Database.Database;
  /** Group commit of the hot writes (./sqlite-write-queue.ts), shared by every store on this file. */
  writes: SqliteWriteQueue;
  path: string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface RedisConnection {
  kind: 'redis';
  redis: Redis;
  /** Every key this gateway writes starts with this prefix (default `egw:`). */
  prefix: string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type StoreConnection = SqliteConnection | RedisConnection;

export interface OpenStoreOptions {
  /** Redis key prefix; tests use a distinct one per run. */
  redisPrefix?: string;
  sqliteSynchronous?: 'normal' | 'full';
}

export class StoreUrlError extends Error {
  override name = 'StoreUrlError';
}

export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<StoreConnection> {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length), options);
  if (url.startsWith('redis://') || url.startsWith('rediss://')) return openRedis(url, options);
  throw new StoreUrlError('STORE_URL: must be sqlite:<path> or redis://host:port[/db]');
}

function openSqlite(rawPath: string, options: OpenStoreOptions): SqliteConnection {
  const path = rawPath === ':memory:' ? rawPath : resolve(rawPath.replace(/^\/\/(?=\/)/, ''));
  if (!path) throw new StoreUrlError('STORE_URL: sqlite: needs a file path');
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  // WAL: readers never block the writer; a committed transaction survives a process crash
  // (kill -9) with synchronous=NORMAL; FULL also survives power loss, at an fsync per commit.
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.sqliteSynchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  const writes = new SqliteWriteQueue(db);
  return {
    kind: 'sqlite',
    db,
    writes,
    path,
    ping: async () => {
      db.prepare('SELECT 1').get();
    },
    close: async () => {
      if (!db.open) return;
      writes.flush();
      db.close();
    },
  };
}

async function openRedis(url: string, options: OpenStoreOptions): Promise<RedisConnection> {
  const redis = new Redis(url, {
    lazyConnect: true,
    // Fail commands at once while disconnected instead of queueing them until Redis returns:
    // callers decide (the cache answers a miss, quotas follow quota.on_store_error, auth 503s).
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // Commands issued in one event-loop turn (by every request in flight) go out in one write
    // and come back in one read: a socket write costs more than the commands in it.
    enableAutoPipelining: true,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
  // Without a listener ioredis prints every connection error; callers see errors on commands.
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new StoreUrlError(`STORE_URL: cannot connect to Redis: ${(err as Error).message}`);
  }
  return {
    kind: 'redis',
    redis,
    prefix: options.redisPrefix ?? 'egw:',
    ping: async () => {
      await redis.ping();
    },
    close: async () => {
      if (redis.status === 'end') return;
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Deletes every key under `prefix` (SCAN + UNLINK, never KEYS): for tests and benchmarks that clean up after themselves. */
export async function deleteRedisPrefix(redis: Redis, prefix: string): Promise<void> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}
