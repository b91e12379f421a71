// The drop-in promise: an app changes only its base URL and key. The docs' own examples
// (generate, the async polling loop, balance, models) work unchanged through the gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';

describe('drop-in API', () => {
  let gw: TestGateway;
  let ml: string;
  let web: string;
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    gw = await startGateway({ simOptions: { videoDelayMs: 60_000, now: () => clock.now() } });
    ml = await gw.team('ml');
    web = await gw.team('web');
  });
  afterAll(async () => gw.close());

  it('forwards generate with the nb_ key and returns the upstream body unchanged', async () => {
    const body = { model: 'gpt-5', prompt: 'Explain quantum computing', params: { temperature: 0.2 } };
    const res = await gw.api('POST', '/api/v2/generate', ml, body);
    expect(res.status).toBe(200);
    const json = res.json();
    expect(json).toMatchObject({ status: 'completed', model_slug: 'gpt-5', tokens_spent: 2, error: null });
    expect(json.result_text).toContain('Explain quantum computing');
    expect(res.headers['x-ratelimit-limit-hour']).toBeUndefined(); // account-wide: see test/security/account-headers.test.ts
    expect(gw.sim.callsFor(body)).toBe(1);
  });

  it('passes unknown fields through untouched', async () => {
    const body = { model: 'dall-e-3', prompt: 'a cat', size: '1024x1024', format: 'webp', extra: { nested: [1, 2] } };
    const res = await gw.api('POST', '/api/v2/generate', ml, body);
    expect(res.status).toBe(200);
    expect(res.json().result_url).toMatch(/^https:\/\/storage\.elumenta\.ru\/generations\/\d+\.webp$/);
    expect(gw.sim.callsFor(body)).toBe(1);
  });

  it('upstream errors pass through unchanged', async () => {
    const res = await gw.api('POST', '/api/v2/generate', ml, { model: 'no-such-model-xyz', prompt: 'hi' });
    expect(res.status).toBe(404);
    expect(res.json()).toMatchObject({ error: 'not_found' });
  });

  it('the docs polling loop works for the team that started the job, and 404s for others', async () => {
    const start = await gw.api('POST', '/api/v2/generate', ml, { model: 'kling-v2.1', prompt: 'a cat surfing' });
    expect(start.json().status).toBe('pending');
    const id = start.json().id;
    const poll = async (key: string) => gw.api('GET', `/api/v2/generate/${id}`, key);
    expect((await poll(ml)).json().status).toBe('pending');
    const other = await poll(web);
    expect(other.status).toBe(404);
    expect(other.json().error).toBe('not_found');
    clock.advance(60_000);
    const done = await poll(ml);
    expect(done.json()).toMatchObject({ status: 'completed' });
    expect(done.json().result_url).toMatch(/\.mp4$/);
    expect(done.json().tokens_spent).toBeGreaterThan(0);
    expect((await poll(web)).status).toBe(404);
  });

  it('balance is the team view: its budget left, never more than the account; plan fields from upstream', async () => {
    const small = await gw.team('small', { budget: { tokens: 500, period: 'day' } });
    const res = await gw.api('GET', '/api/v2/balance', small);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ token_balance: 500, plan: 'vip' });
    expect(res.json()).toHaveProperty('plan_expires_at');
    await gw.app.services.balance.refresh();
    // web's budget (1,000,000) is more than the account holds now: the account bounds it.
    expect((await gw.api('GET', '/api/v2/balance', web)).json().token_balance).toBe(gw.sim.balance());
  });

  it('models routes are forwarded', async () => {
    const list = await gw.api('GET', '/api/v2/models', ml);
    expect(list.status).toBe(200);
    const one = await gw.api('GET', '/api/v2/models/gpt-5', ml);
    expect(one.json()).toMatchObject({ slug: 'gpt-5', token_cost: 2 });
    const price = await gw.api('POST', '/api/v2/models/dall-e-3/calculate-price', ml, { params: { quality: 'hd' }, count: 1 });
    expect(price.status).toBe(200);
    expect(price.json()).toHaveProperty('token_cost');
    const before = gw.sim.calls()['GET /api/v2/models/:slug'] ?? 0;
    await gw.api('GET', '/api/v2/models/gpt-5', web);
    expect(gw.sim.calls()['GET /api/v2/models/:slug'] ?? 0).toBe(before);
  });

  it('anything else under /api/ is 404 and never forwarded', async () => {
    const before = gw.sim.calls();
    for (const path of ['/api/v2/user/history', '/api/v2/user/me', '/api/v1/generate', '/api/v2/whatever']) {
      const res = await gw.api('GET', path, ml);
      expect(res.status).toBe(404);
      expect(res.json().error).toBe('not_found');
    }
    expect(gw.sim.calls()['GET /api/v2/user/history'] ?? 0).toBe(before['GET /api/v2/user/history'] ?? 0);
    const outside = await call(gw.url, 'GET', '/nothing-here');
    expect(outside.status).toBe(404);
    expect(outside.json().error).toBe('not_found');
    expect(gw.sim.calls()['GET /api/v2/user/me'] ?? 0).toBe(before['GET /api/v2/user/me'] ?? 0);
  });
});
