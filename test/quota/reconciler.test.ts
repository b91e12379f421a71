// The reconciler walks every pending job over its passes, a bounded number of polls a pass:
// jobs whose polls keep failing (upstream 500 for them) no longer hold the others back, so a
// job nobody polls is settled, and its charge reaches the ledger, within a bounded number of
// passes. Regression: each pass polled the same first 100 jobs, the newer ones never.
// A job whose poll answers a permanent 4xx (400, 403, 410, 422, as 404) will never be told ended:
// the reconciler drops it with a warning naming it, instead of polling it every walk forever.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { JobPage } from '../../src/generations/job-store.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { backends } from '../helpers/backends.js';
import { startFailingProxy, type FailingProxy } from '../helpers/failing-proxy.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const JOBS = 105;
const VIDEO_MS = 60_000;
const POLLS = 'GET /api/v2/generate/:id';

describe.each(backends)('the reconciler on $name', ({ name }) => {
  let sim: Simulator | undefined;
  let proxy: FailingProxy | undefined;
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    await proxy?.close();
    await sim?.close();
    gw = proxy = sim = undefined;
  });

  /** A gateway behind the failing proxy, with `count` pending videos of team ml created 1 ms apart (oldest first). */
  async function pendingJobs(clock: ManualClock, count = JOBS, logStream?: Writable) {
    sim = await startSimulator({ videoDelayMs: VIDEO_MS, now: () => clock.now() });
    proxy = await startFailingProxy(sim.url);
    // The background pass would come after an hour: only the test's passes run.
    gw = await startGateway({
      backend: name, sim, clock, logStream,
      config: { upstream: { base_url: proxy.url }, quota: { reconcile_interval_ms: 3_600_000 } },
    });
    const key = await gw.team('ml');
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const started = (await gw.api('POST', '/api/v2/generate', key, { model: 'kling-v2.1', prompt: `clip ${i}` })).json();
      expect(started.status).toBe('pending');
      ids.push(String(started.id));
      clock.advance(1);
    }
    return { gw, sim, proxy, key, ids };
  }

  const spent = async (g: TestGateway) => (await g.admin('GET', '/admin/usage?group_by=team')).json().totals.tokens_spent as number;
  const stillPending = async (g: TestGateway, ids: string[]) =>
    (await Promise.all(ids.map((id) => g.app.services.jobs.get(id)))).filter((job) => job !== null).length;

  it('settles the jobs behind 100 whose polls answer 500, within ceil(105 / 100) passes', async () => {
    const clock = new ManualClock(Date.now());
    const { gw, sim, proxy, ids } = await pendingJobs(clock);
    // The head of the list (on SQLite the oldest 100) answers 500 whenever polled.
    const head = (await gw.app.services.jobs.list(100, null)).jobs.map((job) => job.generation_id);
    if (name === 'sqlite') expect(head).toEqual(ids.slice(0, 100));
    const behind = ids.filter((id) => !head.includes(id));
    expect(behind).toHaveLength(5);
    for (const id of head) proxy.failing.add(id);
    clock.advance(VIDEO_MS); // every job has ended upstream; nobody polls

    const settled = (await gw.app.reconciler.runOnce()) + (await gw.app.reconciler.runOnce());
    expect(settled).toBe(5);
    expect(await stillPending(gw, behind)).toBe(0);
    expect(await stillPending(gw, head)).toBe(100);
    expect(proxy.failed()).toBe(100 * gw.app.services.config.upstream.retry.max_attempts); // each head job polled once
    expect(sim.tokensCharged()).toBeGreaterThan(0);
    expect(await spent(gw)).toBe(sim.tokensCharged());
    expect(await gw.usage('ml')).toMatchObject({ reserved: 100 * 94 }); // kling-v2.1 reserves 94

    // Upstream answers for them again: the next walk settles them, and the ledger has every charge.
    proxy.failing.clear();
    expect(await gw.app.reconciler.runOnce()).toBe(100);
    expect(await gw.app.reconciler.runOnce()).toBe(0);
    expect(await stillPending(gw, ids)).toBe(0);
    expect(await spent(gw)).toBe(sim.tokensCharged());
    expect(await gw.usage('ml')).toMatchObject({ reserved: 0, spent: sim.tokensCharged() });
  });

  it('a page larger than a pass polls (HSCAN may answer more than asked): the rest waits, read again first', async () => {
    const clock = new ManualClock(Date.now());
    const { gw, sim, key, ids } = await pendingJobs(clock);
    const { jobs } = gw.app.services;
    const list = jobs.list.bind(jobs);
    const pages: JobPage[] = [];
    jobs.list = async (limit, cursor) => {
      const page = await list(limit + 5, cursor);
      pages.push(page);
      return page;
    };

    expect(await gw.app.reconciler.runOnce()).toBe(0); // 100 polled, still running upstream
    expect(sim.calls()[POLLS]).toBe(100);
    const held = pages[0].jobs.slice(100).map((job) => job.generation_id);
    expect(held).toHaveLength(5);
    clock.advance(VIDEO_MS);
    // A client polls one of the held jobs meanwhile: it is settled, and no pass polls it again.
    expect((await gw.api('GET', `/api/v2/generate/${held[0]}`, key)).json().status).toBe('completed');
    expect(await gw.app.reconciler.runOnce()).toBe(4);
    expect(sim.calls()[POLLS]).toBe(100 + 1 + 4);
    expect(pages).toHaveLength(1); // the held jobs filled the pass: no page was read
    expect(await gw.app.reconciler.runOnce()).toBe(100); // a new walk
    expect(await stillPending(gw, ids)).toBe(0);
    expect(await spent(gw)).toBe(sim.tokensCharged());
    expect(await gw.usage('ml')).toMatchObject({ reserved: 0, spent: sim.tokensCharged() });
  });

  it('drops a job whose poll answers 410, 403, 400 or 422, keeps one answering 429, and settles the rest', async () => {
    const clock = new ManualClock(Date.now());
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const { gw, sim, proxy, key, ids } = await pendingJobs(clock, 7, logStream);
    const [gone, forbidden, bad, invalid, limited] = ids;
    proxy.answering.set(gone, 410).set(forbidden, 403).set(bad, 400).set(invalid, 422).set(limited, 429);
    clock.advance(VIDEO_MS); // every job has ended upstream; nobody polls

    const { jobs } = gw.app.services;
    expect(await gw.app.reconciler.runOnce()).toBe(2); // the two the proxy lets through
    for (const id of [gone, forbidden, bad, invalid]) expect(await jobs.get(id)).toBeNull();
    expect(await jobs.get(limited)).not.toBeNull();
    const warned = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => String(l.msg).startsWith('reconciler:'));
    expect(warned.map((l) => [l.generation_id, l.status]).sort()).toEqual(
      [[gone, 410], [forbidden, 403], [bad, 400], [invalid, 422]].sort(),
    );
    expect(lines.join('\n')).not.toContain(key); // no secrets: the team's key is nowhere in the log

    // The next walk polls only the job answering 429; once upstream answers, it settles too.
    const polls = sim.calls()['GET /api/v2/generate/:id'];
    expect(await gw.app.reconciler.runOnce()).toBe(0);
    expect(sim.calls()['GET /api/v2/generate/:id']).toBe(polls); // 429 is the proxy's: the simulator is not asked
    proxy.answering.delete(limited);
    expect(await gw.app.reconciler.runOnce()).toBe(1);
    expect((await jobs.list(100, null)).jobs).toEqual([]);
    // The dropped jobs' reservations are left to their leases; the settled ones are charged.
    const usage = (await gw.admin('GET', '/admin/usage?group_by=team')).json();
    expect(usage.totals.tokens_spent).toBe(sim.tokensCharged());
  });
});
