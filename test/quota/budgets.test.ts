// Team budgets on the request path: reserve before forwarding, settle with what upstream
// charged, refuse with 402 and the right details, never overspend under concurrency.
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const ask = (gw: TestGateway, key: string, prompt: string, model = 'gpt-5') =>
  gw.api('POST', '/api/v2/generate', key, { model, prompt });

describe('budgets', () => {
  let gw: TestGateway | undefined;
  let other: TestGateway | undefined;
  afterEach(async () => {
    await other?.close();
    await gw?.close();
    gw = other = undefined;
  });

  it.each(['sqlite', 'redis'] as const)('200 concurrent requests against a budget that fits 10: exactly 10 reach upstream (%s)', async (backend) => {
    gw = await startGateway({ backend });
    const key = await gw.team('ml', { budget: { tokens: 20, period: 'month' } }); // gpt-5 costs 2
    let answers;
    if (backend === 'redis') {
      // Two replicas on one Redis, 100 requests each, all at once.
      other = await startGateway({ backend, store: gw.store, sim: gw.sim });
      const [a, b] = [gw, other];
      answers = await Promise.all(Array.from({ length: 200 }, (_, i) => ask(i % 2 ? a : b, key, `distinct prompt ${i}`)));
    } else {
      answers = await Promise.all(Array.from({ length: 200 }, (_, i) => ask(gw!, key, `distinct prompt ${i}`)));
    }
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 402)).toHaveLength(190);
    expect(gw.sim.totalGenerateCalls()).toBe(10);
    expect(await gw.usage('ml')).toMatchObject({ spent: 20, reserved: 0, remaining: 0 });
  });

  it('402 details say which budget, how much is left and when it resets', async () => {
    gw = await startGateway();
    const key = await gw.team('ml', { budget: { tokens: 3, period: 'day' } });
    expect((await ask(gw, key, 'first')).status).toBe(200);
    const refused = await ask(gw, key, 'second');
    expect(refused.status).toBe(402);
    expect(refused.json()).toMatchObject({
      error: 'insufficient_tokens',
      message: expect.stringContaining('ml'),
      details: { scope: 'team', team: 'ml', budget: 3, period: 'day', spent: 2, reserved: 0, remaining: 1, requested: 2 },
    });
    expect(Date.parse(refused.json().details.resets_at)).toBeGreaterThan(Date.now());
    expect(gw.sim.totalGenerateCalls()).toBe(1);
  });

  it('a budget change applies to the next request', async () => {
    gw = await startGateway();
    const key = await gw.team('ml', { budget: { tokens: 0, period: 'month' } });
    expect((await ask(gw, key, 'nothing left')).status).toBe(402);
    await gw.admin('PATCH', '/admin/teams/ml', { budget: { tokens: 100 } });
    expect((await ask(gw, key, 'now there is')).status).toBe(200);
  });

  it('an estimate above the actual charge refunds the difference', async () => {
    gw = await startGateway();
    const key = await gw.team('ml', { budget: { tokens: 100, period: 'month' } });
    // dall-e-3 is priced 5-13: 13 is reserved, the simulator charges 5 at standard quality.
    const res = await ask(gw, key, 'a lighthouse', 'dall-e-3');
    expect(res.json().tokens_spent).toBe(5);
    expect(await gw.usage('ml')).toMatchObject({ spent: 5, reserved: 0, remaining: 95 });
  });

  it('an actual charge above the estimate is recorded, and the next request sees it', async () => {
    gw = await startGateway({ config: { quota: { estimates: { 'gpt-5': 1 } } } });
    const key = await gw.team('ml', { budget: { tokens: 3, period: 'month' } });
    expect((await ask(gw, key, 'one')).status).toBe(200); // reserved 1, charged 2
    expect(await gw.usage('ml')).toMatchObject({ spent: 2, reserved: 0, remaining: 1 });
    expect((await ask(gw, key, 'two')).status).toBe(200); // 2 + 1 <= 3: fits the estimate
    expect((await ask(gw, key, 'three')).status).toBe(402); // 4 + 1 > 3
  });

  it('a new period starts from zero without any job running (injected clock)', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 10, 23, 0, 0));
    gw = await startGateway({ clock });
    const key = await gw.team('ml', { budget: { tokens: 2, period: 'day' } });
    expect((await ask(gw, key, 'today')).status).toBe(200);
    expect((await ask(gw, key, 'today again')).status).toBe(402);
    clock.advance(60 * 60_000); // midnight UTC
    expect((await ask(gw, key, 'tomorrow')).status).toBe(200);
    expect(await gw.usage('ml')).toMatchObject({ spent: 2, resets_at: '2026-06-12T00:00:00.000Z' });
  });

  it('periods follow the configured time zone', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 10, 20, 30, 0)); // 23:30 in Moscow (UTC+3)
    gw = await startGateway({ clock, config: { quota: { timezone: 'Europe/Moscow' } } });
    await gw.team('ml', { budget: { tokens: 2, period: 'day' } });
    expect((await gw.usage('ml')).resets_at).toBe('2026-06-10T21:00:00.000Z');
  });

  it('the account floor refuses every team', async () => {
    gw = await startGateway({ simOptions: { balance: 100 }, config: { quota: { account_floor: 99 } } });
    const ml = await gw.team('ml');
    const web = await gw.team('web');
    for (const key of [ml, web]) {
      const res = await ask(gw, key, 'over the floor');
      expect(res.status).toBe(402);
      expect(res.json().details).toMatchObject({ scope: 'account', remaining: 1, requested: 2 });
    }
    expect(gw.sim.totalGenerateCalls()).toBe(0);
    expect((await gw.api('GET', '/api/v2/balance', ml)).json().token_balance).toBe(1);
  });

  it('an upstream 402 sets the known balance to zero and refuses what follows', async () => {
    gw = await startGateway({ simOptions: { balance: 3 } });
    const key = await gw.team('ml');
    expect((await ask(gw, key, 'spend 2')).status).toBe(200);
    gw.sim.setBalance(0);
    const upstream402 = await ask(gw, key, 'upstream says no');
    expect(upstream402.status).toBe(402);
    const calls = gw.sim.totalGenerateCalls();
    expect((await ask(gw, key, 'gateway says no')).json().details.scope).toBe('account');
    expect(gw.sim.totalGenerateCalls()).toBe(calls);
  });

  it('team rate limit: 429 with retry_after once the minute is used', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 10, 12, 0, 0));
    gw = await startGateway({ clock });
    const key = await gw.team('ml', { rate_limit: { requests_per_minute: 2 } });
    expect((await ask(gw, key, 'r1')).status).toBe(200);
    expect((await ask(gw, key, 'r2')).status).toBe(200);
    const limited = await ask(gw, key, 'r3');
    expect(limited.status).toBe(429);
    expect(limited.json()).toMatchObject({ error: 'rate_limit_exceeded', retry_after: 60 });
    clock.advance(60_000);
    expect((await ask(gw, key, 'r4')).status).toBe(200);
    expect(gw.sim.totalGenerateCalls()).toBe(3);
  });
});
