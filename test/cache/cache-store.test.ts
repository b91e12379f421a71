// The cache's L2 conformance suite: the same behaviour on SQLite and on a real Redis (values
// are opaque bytes, expiry follows the caller's clock, replicas see each other's entries).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCacheStore, type CacheStore } from '../../src/cache/cache-store.js';
import type { StoreConnection } from '../../src/store/connection.js';
import { storeBackends, cleanup, reopen } from '../helpers/backends.js';

const T0 = Date.UTC(2026, 0, 15, 12);

describe.each(storeBackends)('cache store on $name', (backend) => {
  let conn: StoreConnection;
  let store: CacheStore;
  beforeEach(async () => {
    conn = await backend.open();
    store = createCacheStore(conn);
  });
  afterEach(async () => cleanup(conn));

  it('returns what was set, byte for byte, and null for an unknown key', async () => {
    const value = Buffer.from([0, 1, 2, 10, 13, 255, 0x7b, 0x22]);
    await store.set('k1', value, T0 + 60_000, T0);
    expect(await store.get('k1', T0)).toEqual(value);
    expect(await store.get('nope', T0)).toBeNull();
  });

  it('expires by the clock it is given, not by wall-clock time', async () => {
    await store.set('k', Buffer.from('v'), T0 + 1_000, T0);
    expect((await store.get('k', T0 + 999))?.toString()).toBe('v');
    expect(await store.get('k', T0 + 1_000)).toBeNull();
    expect(await store.get('k', T0 + 5_000)).toBeNull();
  });

  it('overwrites, deletes, and refuses to keep what is already expired', async () => {
    await store.set('k', Buffer.from('one'), T0 + 10_000, T0);
    await store.set('k', Buffer.from('two'), T0 + 10_000, T0);
    expect((await store.get('k', T0))?.toString()).toBe('two');
    await store.delete('k');
    expect(await store.get('k', T0)).toBeNull();
    await store.set('gone', Buffer.from('x'), T0, T0);
    expect(await store.get('gone', T0 - 1)).toBeNull();
  });

  it('is shared: another connection to the same store (a second replica) reads the entry', async () => {
    await store.set('shared', Buffer.from('answer'), T0 + 60_000, T0);
    const other = await reopen(conn);
    try {
      expect((await createCacheStore(other).get('shared', T0))?.toString()).toBe('answer');
    } finally {
      await other.close();
    }
  });

  it('prune removes only expired entries', async () => {
    await store.set('old', Buffer.from('a'), T0 + 1_000, T0);
    await store.set('new', Buffer.from('b'), T0 + 100_000, T0);
    const removed = await store.prune(T0 + 2_000);
    expect(removed).toBe(backend.name === 'sqlite' ? 1 : 0); // Redis drops keys itself (PX)
    expect(await store.get('old', T0 + 2_000)).toBeNull();
    expect((await store.get('new', T0 + 2_000))?.toString()).toBe('b');
  });
});
