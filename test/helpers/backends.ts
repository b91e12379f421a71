// The backends the suites run on (`describe.each(backends)`): SQLite in a fresh temp file, and
// a real Redis under a fresh key prefix; store conformance suites also run on a real Sentinel
// setup and a real Cluster (`storeBackends`; started once per run by test/global-redis.ts).
// `cleanup` removes only what the test created: the temp dir, or the keys under its own
// `egw-test:` prefix, never anything else.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { deleteRedisPrefix, openStore, type RedisClient, type StoreConnection } from '../../src/store/connection.js';

export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TEST_PREFIX = 'egw-test:';

export interface Backend {
  name: 'sqlite' | 'redis' | 'redis-sentinel' | 'redis-cluster';
  open(): Promise<StoreConnection>;
}

/** How to remove what each `open()` created; connections from `reopen` have no entry. */
const removers = new WeakMap<StoreConnection, () => Promise<void>>();

export const backends: Backend[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'egw-test-'));
      const conn = await openStore(`sqlite:${join(dir, 'store.db')}`);
      removers.set(conn, () => rm(dir, { recursive: true, force: true }));
      return conn;
    },
  },
  { name: 'redis', open: () => openRedisAt(redisUrl) },
];

/** The two other Redis shapes: a master behind three sentinels, and a three-master Cluster. */
export const redisShapes: Backend[] = [
  { name: 'redis-sentinel', open: () => openRedisAt(inject('redisSentinelUrl')) },
  { name: 'redis-cluster', open: () => openRedisAt(inject('redisClusterUrl')) },
];

/** Every backend and Redis shape: for the store conformance suites. */
export const storeBackends: Backend[] = [...backends, ...redisShapes];

const urls = new WeakMap<StoreConnection, string>();

/** Opens `url` under a fresh test prefix; `cleanup` deletes its keys. */
export async function openRedisAt(url: string): Promise<StoreConnection> {
  const conn = await openStore(url, { redisPrefix: `${TEST_PREFIX}${randomUUID()}:` });
  if (conn.kind === 'redis') removers.set(conn, () => deleteKeys(conn.redis, conn.prefix));
  urls.set(conn, url);
  return conn;
}

/** A second connection to the same data, as another replica (or process) would open it. */
export function reopen(conn: StoreConnection): Promise<StoreConnection> {
  return conn.kind === 'sqlite'
    ? openStore(`sqlite:${conn.path}`)
    : openStore(urls.get(conn) ?? redisUrl, { redisPrefix: conn.prefix });
}

/** A fresh store on `backend` and a second connection to it (another replica's); `close` closes both and removes the store. */
export interface TwoConnections {
  conn: StoreConnection;
  other: StoreConnection;
  close(): Promise<void>;
}

export async function openTwice(backend: Backend): Promise<TwoConnections> {
  const conn = await backend.open();
  const other = await reopen(conn);
  return {
    conn,
    other,
    async close() {
      await other.close();
      await cleanup(conn);
    },
  };
}

async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  if (prefix.startsWith(TEST_PREFIX)) await deleteRedisPrefix(redis, prefix);
}

/** Deletes what `open()` created (keys before closing, the temp dir after), then closes. */
export async function cleanup(conn: StoreConnection): Promise<void> {
  const remove = removers.get(conn);
  if (conn.kind === 'redis' && remove) await remove();
  await conn.close();
  if (conn.kind === 'sqlite' && remove) await remove();
}
