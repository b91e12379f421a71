// Async jobs (video) in flight are shared: an identical request gets the same job id and may
// poll it; when the job completes (seen by a poll, or by the reconciler) its result is cached
// under the original request's key, and the team that started it is the one that pays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { readGeneration } from '../../src/generate/generation.js';

import { backends } from '../helpers/backends.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { generate, unique, usage } from './helpers.js';

describe.each(backends)('pending jobs and the cache on $name', ({ name }) => {
  const clock = new ManualClock(Date.now());
  let gw: TestGateway;
  let ml: string;
  let web: string;
  let ops: string;
  beforeAll(async () => {
    gw = await startGateway({
      backend: name,
      clock,
      simOptions: { videoDelayMs: 60_000, now: () => clock.now() },
      config: { auth: { key_cache_ttl_ms: 3_600_000 } },
    });
    ml = await gw.team('ml');
    web = await gw.team('web');
    ops = await gw.team('ops');
  });
  afterAll(async () => gw.close());

  it('shares a pending video job, lets both teams poll it, and caches it on completion', async () => {
    const body = { model: 'kling-v2.1', prompt: unique('a cat surfing'), duration: 5 };
    const started = await generate(gw, ml, body);
    expect(started.headers['x-gateway-cache']).toBe('miss');
    expect(started.json().status).toBe('pending');
    const id = started.json().id;

    const twin = await generate(gw, web, body);
    expect(twin.headers['x-gateway-cache']).toBe('coalesced');
    expect(twin.json()).toMatchObject({ id, status: 'pending', tokens_spent: 0 });
    expect(gw.sim.callsFor(body)).toBe(1);

    const poll = (key: string) => gw.api('GET', `/api/v2/generate/${id}`, key);
    expect((await poll(web)).json().status).toBe('pending');
    expect((await poll(ml)).json().status).toBe('pending');
    expect((await poll(ops)).status).toBe(404); // not handed it

    clock.advance(60_000);
    const seen = await poll(web); // the twin's poll sees it end: settles ml's reservation, caches the result
    expect(seen.json()).toMatchObject({ id, status: 'completed', tokens_spent: 0 }); // the twin paid nothing, like a hit
    expect(seen.json().result_url).toMatch(/\.mp4$/);
    const done = await poll(ml);
    const charged = done.json().tokens_spent as number;
    expect(charged).toBeGreaterThan(0);
    expect(done.json()).toEqual({ ...seen.json(), tokens_spent: charged });

    const third = await generate(gw, ops, body);
    expect(third.headers['x-gateway-cache']).toBe('hit');
    expect(third.headers['x-gateway-tokens-saved']).toBe(String(charged));
    expect(third.json()).toEqual({ ...done.json(), tokens_spent: 0 });
    expect(gw.sim.callsFor(body)).toBe(1);

    expect((await usage(gw, 'ml')).spent).toBe(charged);
    expect(await usage(gw, 'web')).toMatchObject({ spent: 0, reserved: 0 });
    expect(await usage(gw, 'ops')).toMatchObject({ spent: 0, reserved: 0 });
    // Savings are exact once the cost is known: the twin's (web) and the hit's (ops) are both the job's price.
    await gw.app.savings.flush();
    const rows = (await gw.admin('GET', '/admin/usage?group_by=team')).json().rows as Array<{ team: string; tokens_saved: number }>;
    const saved = Object.fromEntries(rows.map((r) => [r.team, r.tokens_saved]));
    expect(saved).toMatchObject({ web: charged, ops: charged });
  });

  it('caches a job the reconciler saw complete, with nobody polling', async () => {
    const body = { model: 'luma-ray2-flash', prompt: unique('waves') };
    const started = (await generate(gw, ml, body)).json();
    expect(started.status).toBe('pending');
    clock.advance(60_000);
    expect(await gw.app.reconciler.runOnce()).toBeGreaterThanOrEqual(1);
    const hit = await generate(gw, web, body);
    expect(hit.headers['x-gateway-cache']).toBe('hit');
    expect(hit.json()).toMatchObject({ id: started.id, status: 'completed', tokens_spent: 0 });
    expect(gw.sim.callsFor(body)).toBe(1);
  });

  it('forgets a pending job that ends failed: the next identical request starts a new one', async () => {
    const body = { model: 'kling-v2.1', prompt: unique('doomed video') };
    const started = (await generate(gw, ml, body)).json();
    expect((await generate(gw, web, body)).json().id).toBe(started.id); // in flight: shared
    const job = await gw.app.services.jobs.get(String(started.id));
    expect(job?.cache_key).toMatch(/^[0-9a-f]{64}$/);
    // The simulator never fails a job late; the real upstream can. This is what a poll would apply.
    const failed = readGeneration({ id: started.id, status: 'failed', error: 'provider refused', tokens_spent: 0 });
    await gw.app.services.paid.applyOutcome(job!.reservation, failed, job!.cache_key);
    const again = await generate(gw, web, body);
    expect(again.headers['x-gateway-cache']).toBe('miss');
    expect(again.json().id).not.toBe(started.id);
    expect(gw.sim.callsFor(body)).toBe(2);
  });
  it("records a shared job's saving under the twin's key, not under key ''", async () => {
    // Regression: the twin's tokens_saved, known when the job ended, landed in the ledger under key ''.
    const issue = async (label: string) => (await gw.admin('POST', '/admin/teams/web/keys', { label })).json() as { key: string; id: string };
    const [starter, twinKey] = [await issue('starter'), await issue('twin')];
    const body = { model: 'kling-v2.1', prompt: unique('a shared saving'), duration: 5 };
    const started = (await generate(gw, starter.key, body)).json();
    expect(started.status).toBe('pending');
    expect((await generate(gw, twinKey.key, body)).headers['x-gateway-cache']).toBe('coalesced');
    clock.advance(60_000);
    const done = (await gw.api('GET', `/api/v2/generate/${started.id}`, starter.key)).json();
    expect(done.status).toBe('completed');
    await gw.app.savings.flush();
    const usage = (await gw.admin('GET', '/admin/usage?group_by=key&team=web')).json();
    const byKey = Object.fromEntries((usage.rows as Array<{ key: string }>).map((r) => [r.key, r]));
    expect(byKey[twinKey.id]).toMatchObject({ key_label: 'twin', coalesced: 1, tokens_saved: done.tokens_spent, tokens_spent: 0 });
    expect(byKey[starter.id]).toMatchObject({ key_label: 'starter', tokens_spent: done.tokens_spent, tokens_saved: 0 });
    expect(byKey['']).toBeUndefined();
  });
});
