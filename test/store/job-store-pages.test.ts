// The pending jobs list in pages: a walk from the first page to the last lists every job
// present all along, whatever is added or removed meanwhile (the reconciler walks it this
// way, a page a pass). SQLite pages are keyset pages, oldest first; Redis pages are HSCAN's.
import { describe, expect, it } from 'vitest';
import { createJobStore, type JobStore, type PendingJob } from '../../src/generations/job-store.js';
import { cleanup, storeBackends } from '../helpers/backends.js';

const job = (id: string, createdAt: number): PendingJob => ({
  generation_id: id,
  reservation: { id: `r-${id}`, team: 'ml', model: 'kling-v2.1', amount: 94, period: 'month', held: true },
  cache_key: null,
  created_at: createdAt,
});

/** Walks from the first page to the last, calling `between` after the first page; returns the pages. */
async function walk(jobs: JobStore, limit: number, between: () => Promise<void>): Promise<PendingJob[][]> {
  const pages: PendingJob[][] = [];
  let cursor: string | null = null;
  do {
    const page = await jobs.list(limit, cursor);
    pages.push(page.jobs);
    cursor = page.next;
    if (pages.length === 1) await between();
  } while (cursor !== null && pages.length < 1_000);
  return pages;
}

describe.each(storeBackends)('pending job pages on $name', (backend) => {
  it('an empty list is one empty last page', async () => {
    const conn = await backend.open();
    try {
      expect(await createJobStore(conn).list(100, null)).toEqual({ jobs: [], next: null });
    } finally {
      await cleanup(conn);
    }
  });

  // 700 jobs: more than Redis keeps as a listpack (512 here), so HSCAN pages by its cursor.
  it('a walk lists every job present all along, while jobs are added and removed', async () => {
    const conn = await backend.open();
    try {
      const jobs = createJobStore(conn);
      // Three jobs per millisecond: pages must break ties on created_at by id.
      const all = Array.from({ length: 700 }, (_, i) => job(`g${String(i).padStart(4, '0')}`, 1_000 + Math.floor(i / 3)));
      await Promise.all(all.map((j) => jobs.add(j)));
      const removed = all[650].generation_id;
      const pages = await walk(jobs, 100, async () => {
        await jobs.remove(removed);
        await jobs.add(job('g-new', 5_000));
      });

      const listed = new Set(pages.flat().map((j) => j.generation_id));
      const allAlong = all.map((j) => j.generation_id).filter((id) => id !== removed);
      expect(allAlong.filter((id) => !listed.has(id))).toEqual([]);
      expect(pages.length).toBeLessThan(50);
      if (conn.kind === 'sqlite') {
        // Keyset pages: at most the limit, oldest first, each job once, the one added meanwhile too.
        expect(pages.every((p) => p.length <= 100)).toBe(true);
        expect(pages.flat().map((j) => j.generation_id)).toEqual([...allAlong, 'g-new']);
      }
    } finally {
      await cleanup(conn);
    }
  });
});
