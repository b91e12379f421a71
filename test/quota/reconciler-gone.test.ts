// A pending job whose poll answers a permanent 4xx (400, 403, 410, 422, as 404) will never be
// told ended by upstream: the reconciler drops it (its lease gives the budget back) and logs a
// warning naming it, instead of polling it every walk forever. A transient answer (429) keeps
// the job; the other jobs still settle.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { backends } from '../helpers/backends.js';
import { startFailingProxy, type FailingProxy } from '../helpers/failing-proxy.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const VIDEO_MS = 60_000;

describe.each(backends)('the reconciler and jobs upstream will not tell about, on $name', ({ name }) => {
  let sim: Simulator | undefined;
  let proxy: FailingProxy | undefined;
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    await proxy?.close();
    await sim?.close();
    gw = proxy = sim = undefined;
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
    sim = await startSimulator({ videoDelayMs: VIDEO_MS, now: () => clock.now() });
    proxy = await startFailingProxy(sim.url);
    gw = await startGateway({
      backend: name, sim, clock, logStream,
      config: { upstream: { base_url: proxy.url }, quota: { reconcile_interval_ms: 3_600_000 } },
    });
    const key = await gw.team('ml');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const started = (await gw.api('POST', '/api/v2/generate', key, { model: 'kling-v2.1', prompt: `clip ${i}` })).json();
      expect(started.status).toBe('pending');
      ids.push(String(started.id));
    }
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
