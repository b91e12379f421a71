// Group commit on SQLite: writes asked for in one turn commit together, in order, each caller
// told only after the commit; a write that throws fails alone and the others still commit.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteConnection } from '../../src/store/connection.js';
import { backends, cleanup, reopen } from '../helpers/backends.js';

describe('SQLite write queue', () => {
  let conn: SqliteConnection;
  beforeEach(async () => {
    const opened = await backends.find((b) => b.name === 'sqlite')!.open();
    if (opened.kind !== 'sqlite') throw new Error('expected SQLite');
    conn = opened;
    conn.db.exec(`CREATE TABLE t (n INTEGER PRIMARY KEY, v TEXT NOT NULL)`);
  });
  afterEach(async () => cleanup(conn));

  const insert = (n: number, v: string | null) => () => conn.db.prepare(`INSERT INTO t VALUES (?, ?)`).run(n, v).changes;
  const rows = () => conn.db.prepare(`SELECT n, v FROM t ORDER BY n`).all();

  it('commits the writes of one turn in one transaction, in order, and answers after the commit', async () => {
    const seen: string[] = [];
    const inBatch = () => {
      seen.push(`${conn.db.inTransaction}:${(conn.db.prepare(`SELECT COUNT(*) FROM t`).pluck().get() as number)}`);
      return seen.length;
    };
    const results = [conn.writes.run(insert(1, 'a')), conn.writes.run(inBatch), conn.writes.run(insert(2, 'b')), conn.writes.run(inBatch)];
    expect(rows()).toEqual([]); // nothing runs before the end of the turn
    expect(await Promise.all(results)).toEqual([1, 1, 1, 2]);
    expect(seen).toEqual(['true:1', 'true:2']); // one transaction; each write sees those before it
    expect(conn.db.inTransaction).toBe(false);
    const other = await reopen(conn);
    try {
      if (other.kind !== 'sqlite') throw new Error('expected SQLite');
      expect(other.db.prepare(`SELECT COUNT(*) FROM t`).pluck().get()).toBe(2); // committed, visible to another connection
    } finally {
      await other.close();
    }
  });

  it('fails a write that throws alone, undoing only it; the rest of its batch commits', async () => {
    const half = () => {
      insert(3, 'half')();
      throw new Error('boom');
    };
    const results = await Promise.allSettled([
      conn.writes.run(insert(1, 'a')),
      conn.writes.run(half),
      conn.writes.run(insert(2, null)), // NOT NULL: SQLite refuses it
      conn.writes.run(insert(4, 'd')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'boom' });
    expect(rows()).toEqual([{ n: 1, v: 'a' }, { n: 4, v: 'd' }]);
  });

  it('fails every write of the batch when the transaction itself cannot run, and writes what is queued before closing', async () => {
    const holder = await reopen(conn); // another process holding the write lock
    if (holder.kind !== 'sqlite') throw new Error('expected SQLite');
    conn.db.pragma('busy_timeout = 0');
    holder.db.exec('BEGIN IMMEDIATE');
    const results = await Promise.allSettled([conn.writes.run(insert(1, 'a')), conn.writes.run(insert(2, 'b'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_BUSY' });
    holder.db.exec('ROLLBACK');
    await holder.close();
    expect(rows()).toEqual([]);
    const queued = conn.writes.run(insert(5, 'e'));
    const path = conn.path;
    await conn.close();
    expect(await queued).toBe(1);
    const again = await reopen({ ...conn, path });
    try {
      if (again.kind !== 'sqlite') throw new Error('expected SQLite');
      expect(again.db.prepare(`SELECT v FROM t WHERE n = 5`).pluck().get()).toBe('e');
    } finally {
      await again.close();
    }
  });
});
