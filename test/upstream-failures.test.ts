// Upstream failures: transport errors map to 502/503/504 in the contract's shape; only what
// surely did no work is retried (a POST to generate is never retried blindly); the budget
// is released when nothing was done and kept when the outcome is unknown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator } from '../src/simulator/index.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';

describe('upstream failures', () => {
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    gw = await startGateway({
      config: { upstream: { timeouts: { text: { first_byte_ms: 300, total_ms: 500 } } } },
    });
    key = await gw.team('ml', { budget: { tokens: 1000, period: 'month' } });
  });
  afterAll(async () => gw.close());

  const usage = () => gw.usage('ml');

  it('retries a 503 (no work done) and succeeds; the client sees one answer', async () => {
    const body = { model: 'gpt-5', prompt: 'retry after 503' };
    gw.sim.injectFault(503, 1);
    const res = await gw.api('POST', '/api/v2/generate', key, body);
    expect(res.status).toBe(200);
    expect(gw.sim.callsFor(body)).toBe(2);
  });

  it('never retries a 500 from generate; the error passes through unchanged and the budget is released', async () => {
    const body = { model: 'gpt-5', prompt: 'provider 500' };
    gw.sim.injectFault(500, 1);
    const res = await gw.api('POST', '/api/v2/generate', key, body);
    expect(res.status).toBe(500);
    expect(res.json().error).toBe('provider_error');
    expect(gw.sim.callsFor(body)).toBe(1);
    expect((await usage()).reserved).toBe(0);
  });

  it('passes a 429 with a long retry_after to the client unchanged, without retrying', async () => {
    const body = { model: 'gpt-5', prompt: 'rate limited upstream' };
    gw.sim.injectFault(429, 1);
    const res = await gw.api('POST', '/api/v2/generate', key, body);
    expect(res.status).toBe(429);
    expect(res.json()).toMatchObject({ error: 'rate_limit_exceeded', retry_after: expect.any(Number) });
    expect(gw.sim.callsFor(body)).toBe(1);
  });

  it('a dropped connection after the body was sent is 502, not retried, and stays reserved as outcome-unknown', async () => {
    const before = (await usage()).reserved;
    const body = { model: 'gpt-5', prompt: 'dropped mid-flight' };
    gw.sim.injectFault('drop', 1);
    const res = await gw.api('POST', '/api/v2/generate', key, body);
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({ error: 'upstream_error', message: expect.any(String) });
    expect(gw.sim.callsFor(body)).toBe(1);
    expect((await usage()).reserved).toBe(before + 2);
  });

  it('an upstream that never answers gets 504 within the modality timeout', async () => {
    const body = { model: 'gpt-5', prompt: 'hangs' };
    gw.sim.injectFault('timeout', 1);
    const res = await gw.api('POST', '/api/v2/generate', key, body);
    expect(res.status).toBe(504);
    expect(res.json()).toMatchObject({ error: 'upstream_timeout', details: { outcome: 'unknown' } });
    expect(gw.sim.callsFor(body)).toBe(1);
  });

  it('an upstream that refuses connections is 503 after bounded retries, and the budget is released', async () => {
    const dead = await startSimulator();
    const url = dead.url;
    await dead.close();
    const down = await startGateway({ sim: gw.sim, config: { upstream: { base_url: url } } });
    try {
      const k = await down.team('ops', { budget: { tokens: 100, period: 'month' } });
      const res = await down.api('POST', '/api/v2/generate', k, { model: 'gpt-5', prompt: 'nobody home' });
      expect(res.status).toBe(503);
      expect(res.json().error).toBe('upstream_unavailable');
      expect((await down.admin('GET', '/admin/teams/ops')).json().usage.reserved).toBe(0);
    } finally {
      await down.close();
    }
  });
});
