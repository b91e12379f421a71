// Opens the backend named by STORE_URL: `sqlite:<path>` (embedded, one instance) or Redis
// (shared by replicas) as one server, through Sentinel, or as a Cluster (./redis-url.ts).
// Feature stores (teams, keys, quota, cache, ledger) each take this connection and implement
// their own interface on both backends.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { StoreUrlError, parseRedisUrl, type RedisShape } from './redis-url.js';
import { SqliteWriteQueue } from './sqlite-write-queue.js';
import { replicaWaiter } from './replica-wait.js';
import { followSentinelFailovers } from './sentinel-follower.js';
import { watchRedisConnection, type RedisWatcher } from './redis-watch.js';
import type { Config } from '../config/schema.js';

export interface SqliteConnection {
  kind: 'sqlite';
  db: Database.Database;
  /** Group commit of the hot writes (./sqlite-write-queue.ts), shared by every store on this file. */
  writes: SqliteWriteQueue;
  path: string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** One Redis server (or the master Sentinel names), or a Cluster: the same commands on both. */
export type RedisClient = Redis | Cluster;

export interface RedisConnection {
  kind: 'redis';
  shape: RedisShape['kind'];
  redis: RedisClient;
  /** Every key this gateway writes starts with this prefix (default `egw:`); never a `{` or `}` (hash tags). */
  prefix: string;
  /**
   * Waits until `store.redis_wait_replicas` replicas have the writes sent so far (WAIT,
   * ./replica-wait.ts): true when they do (or none are asked for), false on a shortfall, which
   * watchers hear too (the write stands on the master). Never rejects.
   */
  waitReplicas(): Promise<boolean>;
  /** Counts the connection's losses (./redis-watch.ts): a write sent in an earlier epoch may have gone with a master. */
  epoch(): number;
  /**
   * A second connection to the same Redis (lazy: connect it), for pub/sub, which can run nothing
   * else; it follows a Sentinel failover like the first. The caller closes it.
   */
  subscriber(): RedisClient;
  /** Hears reconnections (failover, restart), WAIT shortfalls and WAITs met; returns the removal. */
  watch(watcher: RedisWatcher): () => void;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type StoreConnection = SqliteConnection | RedisConnection;

export interface OpenStoreOptions {
  /** Redis key prefix; tests use a distinct one per run. */
  redisPrefix?: string;
  sqliteSynchronous?: 'normal' | 'full';
  /** Replicas WAIT asks for after settlements and key changes (0 = no WAIT), and its timeout. */
  redisWaitReplicas?: number;
  redisWaitTimeoutMs?: number;
}

/** The store options of a configuration (`store.*`). */
export function storeOptionsOf(store: Config['store']): OpenStoreOptions {
  return {
    sqliteSynchronous: store.sqlite_synchronous,
    redisPrefix: store.redis_prefix,
    redisWaitReplicas: store.redis_wait_replicas,
    redisWaitTimeoutMs: store.redis_wait_timeout_ms,
  };
}

export { StoreUrlError };
export { ReplicasBehind } from './replica-wait.js';

export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<StoreConnection> {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length), options);
  if (/^(redis|rediss|redis\+sentinel|redis\+cluster):\/\//.test(url)) return openRedis(url, options);
  throw new StoreUrlError(
    'STORE_URL: must be sqlite:<path>, redis://host:port[/db], redis+sentinel://host:port[,host:port...]/<master>[/db] or redis+cluster://host:port[,host:port...]',
  );
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

// Fail commands at once while disconnected instead of queueing them until Redis returns:
// callers decide (the cache answers a miss, quotas follow quota.on_store_error, auth 503s).
// Commands issued in one event-loop turn (by every request in flight) go out in one write
// and come back in one read: a socket write costs more than the commands in it.
const COMMON: RedisOptions = {
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  retryStrategy: (times) => Math.min(times * 100, 2_000),
};

function createClient(shape: RedisShape): RedisClient {
  if (shape.kind === 'cluster') {
    return new Cluster(shape.nodes, {
      lazyConnect: true,
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      // Node connections queue the commands of their own first connect; the cluster fails fast.
      redisOptions: { ...COMMON, password: shape.password, username: shape.username },
      clusterRetryStrategy: (times) => Math.min(times * 100, 2_000),
      slotsRefreshTimeout: 2_000,
    });
  }
  const common: RedisOptions = { ...COMMON, lazyConnect: true, enableOfflineQueue: false, enableAutoPipelining: true };
  if (shape.kind === 'sentinel') {
    // ioredis asks the sentinels for the master on every (re)connect and checks its role;
    // ./sentinel-follower.ts hears +switch-master (not ioredis's failoverDetector: it can end
    // the client). A connection closed on a hung master is destroyed after disconnectTimeout.
    return new Redis({
      ...common,
      sentinels: shape.sentinels,
      name: shape.master,
      db: shape.db,
      password: shape.password,
      username: shape.username,
      sentinelRetryStrategy: (times) => Math.min(times * 100, 1_000),
      // A hung sentinel must not hold a reconnection forever (ioredis sets no timeout by default).
      sentinelCommandTimeout: 1_000,
      disconnectTimeout: 500,
    });
  }
  return new Redis(shape.url, common);
}

async function openRedis(url: string, options: OpenStoreOptions): Promise<RedisConnection> {
  const prefix = options.redisPrefix ?? 'egw:';
  // A brace in the prefix would become (or break) the hash tag that keeps a team's keys on one slot.
  if (/[{}]/.test(prefix)) throw new StoreUrlError('store.redis_prefix: must not contain { or }');
  const shape = parseRedisUrl(url);
  const redis = createClient(shape);
  // Without a listener ioredis prints every connection error; callers see errors on commands.
  redis.on('error', () => {});
  const follower = shape.kind === 'sentinel' ? followSentinelFailovers(shape.sentinels, shape.master) : null;
  if (follower) follower.add(redis as Redis);
  try {
    await redis.connect();
  } catch (err) {
    follower?.stop();
    redis.disconnect();
    throw new StoreUrlError(`STORE_URL: cannot connect to Redis: ${(err as Error).message}`);
  }
  const watch = watchRedisConnection(redis);
  return {
    kind: 'redis',
    shape: shape.kind,
    redis,
    prefix,
    waitReplicas: replicaWaiter(redis, options.redisWaitReplicas ?? 0, options.redisWaitTimeoutMs ?? 500, watch),
    epoch: watch.epoch,
    watch: watch.watch,
    subscriber() {
      const sub = redis.duplicate();
      sub.on('error', () => {}); // commands on the main connection report failures
      if (follower) follower.add(sub as Redis);
      return sub;
    },
    ping: async () => {
      await redis.ping();
    },
    close: async () => {
      follower?.stop();
      watch.stop();
      if (redis.status === 'end') return;
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Deletes every key under `prefix` (SCAN + UNLINK, never KEYS): for tests and benchmarks that clean up after themselves. */
export async function deleteRedisPrefix(redis: RedisClient, prefix: string): Promise<void> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  // A Cluster's keys are spread over its masters: scan each; one UNLINK per key (slots differ).
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) await node.pipeline(keys.map((key) => ['unlink', key])).exec();
      cursor = next;
    } while (cursor !== '0');
  }
}
