// Injected faults: 429 with retry_after and X-RateLimit-* headers, 500, 503, a dropped socket
// and a request that never answers (close() must still close).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { post } from './helpers.js';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator();
});
afterEach(() => sim.close());

const body = { model: 'gpt-5', prompt: 'hello' };

describe('faults', () => {
  it('429: rate_limit_exceeded with retry_after and zeroed remaining headers, then normal', async () => {
    sim.injectFault(429);
    const res = await post(sim, '/api/v2/generate', body);
    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({ error: 'rate_limit_exceeded', details: {}, plan: 'vip', limit_hour: 100, limit_day: 1000 });
    expect(res.body.retry_after).toBeGreaterThan(0);
    expect(res.headers['x-ratelimit-remaining-hour']).toBe('0');
    expect(res.headers['x-ratelimit-limit-day']).toBe('1000');
    expect(Number(res.headers['x-ratelimit-reset-hour'])).toBeGreaterThan(Date.now() / 1000);
    expect((await post(sim, '/api/v2/generate', body)).status).toBe(200);
    expect(sim.callsFor(body)).toBe(2);
  });

  it('500 provider_error and 503 model_unavailable, each for `count` calls', async () => {
    sim.injectFault(500, 2);
    sim.injectFault(503);
    const a = await post(sim, '/api/v2/generate', body);
    const b = await post(sim, '/api/v2/generate', body);
    const c = await post(sim, '/api/v2/generate/stream', body);
    const d = await post(sim, '/api/v2/generate', body);
    expect([a.status, b.status, c.status, d.status]).toEqual([500, 500, 503, 200]);
    expect(a.body).toEqual({ error: 'provider_error', message: expect.any(String), details: {} });
    expect(c.body.error).toBe('model_unavailable');
    expect(sim.tokensCharged()).toBe(2);
  });

  it('drop: the client sees a socket error', async () => {
    sim.injectFault('drop');
    await expect(post(sim, '/api/v2/generate', body)).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    expect(sim.totalGenerateCalls()).toBe(1);
    expect((await post(sim, '/api/v2/generate', body)).status).toBe(200);
  });

  it('timeout: never answers, and close() still closes', async () => {
    sim.injectFault('timeout');
    const pending = request(`${sim.url}/api/v2/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sim.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const outcome = pending.then(() => 'answered', () => 'error');
    const raced = await Promise.race([outcome, new Promise((r) => setTimeout(() => r('still waiting'), 100))]);
    expect(raced).toBe('still waiting');
    expect(sim.totalGenerateCalls()).toBe(1);
    await sim.close();
    expect(await outcome).toBe('error');
  });

  it('reset() zeroes the counters and drops pending faults', async () => {
    sim.injectFault(500, 3);
    await post(sim, '/api/v2/generate', body);
    sim.reset();
    expect(sim.calls()).toEqual({});
    expect((await post(sim, '/api/v2/generate', body)).status).toBe(200);
  });
});
