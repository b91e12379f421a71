// The twins of a pending job keep the key they came with (their saving is recorded under it
// when the job ends), taken once; twins written before keys were kept read key ''.
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createJobStore } from '../../src/generations/job-store.js';
import { openStore } from '../../src/store/connection.js';
import { backends, cleanup } from '../helpers/backends.js';

describe.each(backends)('pending job twins on $name', (backend) => {
  it("keeps each twin's team and key, taken once; a twin written before keys were kept reads key ''", async () => {
    const conn = await backend.open();
    try {
      const jobs = createJobStore(conn);
      if (conn.kind === 'redis') await conn.redis.rpush(`${conn.prefix}jobs:twins:g1`, 'ops'); // as written before
      await jobs.addTwin('g1', { team: 'web', key: 'key_a' });
      await jobs.addTwin('g1', { team: 'ml', key: 'key_b' });
      const expected = [{ team: 'web', key: 'key_a' }, { team: 'ml', key: 'key_b' }];
      expect(await jobs.takeTwins('g1')).toEqual(conn.kind === 'redis' ? [{ team: 'ops', key: '' }, ...expected] : expected);
      expect(await jobs.takeTwins('g1')).toEqual([]);
    } finally {
      await cleanup(conn);
    }
  });
});

describe('pending job twins in a SQLite file from before keys were kept', () => {
  it("adds the key column; the old rows read key ''", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egw-twins-'));
    try {
      const path = join(dir, 'store.db');
      const old = new Database(path);
      old.exec(`CREATE TABLE pending_twins (seq INTEGER PRIMARY KEY, generation_id TEXT NOT NULL, team TEXT NOT NULL);
        INSERT INTO pending_twins (generation_id, team) VALUES ('g1', 'ops');`);
      old.close();
      const conn = await openStore(`sqlite:${path}`);
      const jobs = createJobStore(conn);
      await jobs.addTwin('g1', { team: 'web', key: 'key_a' });
      expect(await jobs.takeTwins('g1')).toEqual([{ team: 'ops', key: '' }, { team: 'web', key: 'key_a' }]);
      await conn.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
