// The L2: the cache every replica shares and that survives restarts, one interface with an
// adapter per backend (SQLite table with expires_at, Redis keys with PX). Values are opaque
// bytes; expiry is judged against the `now` the caller passes (the gateway's clock).
import type { StoreConnection } from '../store/connection.js';
import { createRedisCacheStore } from './redis-cache-store.js';
import { createSqliteCacheStore } from './sqlite-cache-store.js';

export interface CacheStore {
  /** The value under `key`, or null if absent or expired at `now`. */
  get(key: string, now: number): Promise<Buffer | null>;
  /** Stores `value` until `expiresAt` (ms, the caller's clock). */
  set(key: string, value: Buffer, expiresAt: number, now: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Deletes what expired by `now`; returns how many. Redis expires keys itself (0). */
  prune(now: number): Promise<number>;
}

export function createCacheStore(conn: StoreConnection): CacheStore {
  return conn.kind === 'sqlite' ? createSqliteCacheStore(conn) : createRedisCacheStore(conn);
}
