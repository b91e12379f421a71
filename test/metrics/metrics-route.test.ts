// GET /metrics: Prometheus text, open by default, token-protected when configured; counters
// of tokens and requests per team, model and outcome; label values bounded (unknown models
// fold into `other`, no team without a key) and never a key or a prompt.
import { Registry, register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openStream } from '../stream/sse-client.js';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import { backends, cleanup } from '../helpers/backends.js';
import { call, startGateway, type TestGateway } from '../helpers/gateway.js';
import { parseSamples, scrape, sumBy, total } from './scrape.js';

const GEN = '/api/v2/generate';

describe('/metrics', () => {
  let gw: TestGateway;
  let ml: string;
  let web: string;
  beforeAll(async () => {
    // A clock that stands still keeps web's one request a minute in one window.
    gw = await startGateway({ clock: new ManualClock(Date.now()), config: { metrics: { state_cache_ms: 0 } } });
    ml = await gw.team('ml');
    web = await gw.team('web', { rate_limit: { requests_per_minute: 1 } });
  });
  afterAll(async () => gw.close());

  it('serves Prometheus text without a token by default, with Node default metrics', async () => {
    const res = await call(gw.url, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toContain('# TYPE elumenta_gateway_tokens_spent_total counter');
    expect(res.text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(res.text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('counts tokens spent per team and model, as upstream charged them', async () => {
    const charged = gw.sim.tokensCharged();
    await gw.api('POST', GEN, ml, { model: 'gpt-5', prompt: 'one' });
    await gw.api('POST', GEN, ml, { model: 'dall-e-3', prompt: 'two' });
    await gw.api('POST', GEN, web, { model: 'gpt-5', prompt: 'three' });
    const samples = parseSamples(await scrape(gw));
    expect(total(samples, 'elumenta_gateway_tokens_spent_total')).toBe(gw.sim.tokensCharged() - charged);
    expect(total(samples, 'elumenta_gateway_tokens_spent_total', { team: 'ml', model: 'gpt-5' })).toBe(2);
    expect(total(samples, 'elumenta_gateway_tokens_spent_total', { team: 'web', model: 'gpt-5' })).toBe(2);
    expect(total(samples, 'elumenta_gateway_tokens_spent_total', { team: 'ml', model: 'dall-e-3' })).toBeGreaterThan(0);
    const latency = samples.filter((s) => s.name === 'elumenta_gateway_upstream_request_duration_seconds_bucket');
    expect(new Set(latency.map((s) => s.labels.le))).toEqual(
      new Set(['0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30', '60', '120', '300', '+Inf']),
    );
    expect(total(samples, 'elumenta_gateway_upstream_request_duration_seconds_count', { model: 'gpt-5', status: '200' })).toBe(2);
    expect(total(samples, 'elumenta_gateway_overhead_duration_seconds_count', { outcome: 'upstream' })).toBe(3);
  });

  it('counts requests by outcome; a request without a valid key has team `none`', async () => {
    const before = sumBy(parseSamples(await scrape(gw)), 'elumenta_gateway_requests_total', 'outcome');
    expect((await gw.api('POST', GEN, web, { model: 'gpt-5', prompt: 'over the limit' })).status).toBe(429);
    const tiny = await gw.team('tiny', { budget: { tokens: 1, period: 'day' } });
    expect((await gw.api('POST', GEN, tiny, { model: 'dall-e-3', prompt: 'too dear' })).status).toBe(402);
    expect((await gw.api('POST', GEN, 'nb_gw_not_a_key', { model: 'gpt-5', prompt: 'x' })).status).toBe(401);
    const samples = parseSamples(await scrape(gw));
    const after = sumBy(samples, 'elumenta_gateway_requests_total', 'outcome');
    expect((after.rate_limited ?? 0) - (before.rate_limited ?? 0)).toBe(1);
    expect((after.quota_rejected ?? 0) - (before.quota_rejected ?? 0)).toBe(1);
    expect(total(samples, 'elumenta_gateway_requests_total', { team: 'none', outcome: 'error' })).toBe(1);
    expect(total(samples, 'elumenta_gateway_requests_total', { team: 'tiny', model: 'dall-e-3', outcome: 'quota_rejected' })).toBe(1);
  });

  it('unknown models fold into `other`', async () => {
    const res = await gw.api('POST', GEN, ml, { model: 'no-such-model-7f3a', prompt: 'hi' });
    expect(res.status).toBe(404);
    const text = await scrape(gw);
    expect(text).not.toContain('no-such-model-7f3a');
    const samples = parseSamples(text);
    expect(total(samples, 'elumenta_gateway_requests_total', { team: 'ml', model: 'other', outcome: 'upstream' })).toBe(1);
    expect(total(samples, 'elumenta_gateway_upstream_request_duration_seconds_count', { model: 'other', status: '404' })).toBe(1);
  });

  it('no label carries a key or a prompt', async () => {
    await gw.api('POST', GEN, ml, { model: 'gpt-5', prompt: 'secret-prompt-words' });
    await gw.api('POST', GEN, `${ml}x`, { model: 'gpt-5', prompt: 'secret-prompt-words' });
    const text = await scrape(gw);
    expect(text).not.toContain('nb_');
    expect(text).not.toContain('secret-prompt-words');
    for (const s of parseSamples(text)) {
      for (const value of Object.values(s.labels)) expect(value).not.toMatch(/nb_|Bearer/);
    }
  });

  it('reads team budgets, reservations and the account balance at scrape time', async () => {
    const samples = parseSamples(await scrape(gw));
    const teams = (await gw.admin('GET', '/admin/teams')).json().teams as Array<{ name: string; usage: Record<string, number> }>;
    for (const team of teams) {
      expect(total(samples, 'elumenta_gateway_team_budget_tokens', { team: team.name })).toBe(team.usage.budget);
      expect(total(samples, 'elumenta_gateway_team_spent_tokens', { team: team.name })).toBe(team.usage.spent);
      expect(total(samples, 'elumenta_gateway_team_budget_remaining_tokens', { team: team.name })).toBe(team.usage.remaining);
    }
    expect(total(samples, 'elumenta_gateway_quota_reservations_outstanding')).toBe(0);
    expect(total(samples, 'elumenta_gateway_account_balance_tokens')).toBe(gw.sim.balance());
    expect(total(samples, 'elumenta_gateway_account_balance_floor_tokens')).toBe(0);
  });

  it('counts store errors, including those on the request path', async () => {
    const errorsBefore = total(parseSamples(await scrape(gw)), 'elumenta_gateway_store_errors_total');
    const store = gw.app.services.quotaStore;
    const reserve = store.reserve;
    store.reserve = async () => {
      throw new Error('store unreachable (test)');
    };
    try {
      expect((await gw.api('POST', GEN, ml, { model: 'gpt-5', prompt: 'store down' })).status).toBe(503);
    } finally {
      store.reserve = reserve;
    }
    const samples = parseSamples(await scrape(gw));
    expect(total(samples, 'elumenta_gateway_store_errors_total')).toBe(errorsBefore + 1);
  });
});

describe('/metrics with metrics.token', () => {
  let gw: TestGateway;
  const token = 'metrics-token-for-tests-0123456789';
  beforeAll(async () => {
    gw = await startGateway({ config: { metrics: { token } } });
  });
  afterAll(async () => gw.close());

  it('requires that bearer token', async () => {
    const none = await call(gw.url, 'GET', '/metrics');
    expect(none.status).toBe(401);
    expect(none.json()).toMatchObject({ error: 'not_authenticated' });
    expect((await call(gw.url, 'GET', '/metrics', { key: 'wrong-token' })).status).toBe(401);
    expect((await call(gw.url, 'GET', '/metrics', { key: await gw.team('probe') })).status).toBe(401);
    // An admin credential opens it too (see test/admin-tokens.test.ts for viewers).
    expect((await call(gw.url, 'GET', '/metrics', { key: gw.adminToken })).status).toBe(200);
    const ok = await call(gw.url, 'GET', '/metrics', { key: token });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('elumenta_gateway_requests_total');
  });
});

describe('the metrics registry', () => {
  it('is the one passed in, never the global registry', async () => {
    const registry = new Registry();
    const store = await backends[0].open();
    const app = await buildApp({ config: parseConfig({ log: { level: 'silent' } }), store, metricsRegistry: registry, background: false });
    try {
      expect(registry.getSingleMetric('elumenta_gateway_tokens_spent_total')).toBeDefined();
      expect(register.getSingleMetric('elumenta_gateway_tokens_spent_total')).toBeUndefined();
    } finally {
      await app.close();
      await cleanup(store);
    }
  });
});

describe('/metrics for streams', () => {
  it('records time to first byte of a stream, and its tokens like any request', async () => {
    const gw = await startGateway({ config: { metrics: { state_cache_ms: 0 } } });
    try {
      const key = await gw.team('ml');
      const stream = await openStream(gw.url, '/api/v2/generate/stream', key, { model: 'gpt-5', prompt: 'stream me' });
      await stream.rest();
      await vi.waitFor(async () => {
        const samples = parseSamples(await scrape(gw));
        expect(total(samples, 'elumenta_gateway_stream_first_byte_seconds_count', { model: 'gpt-5', cache: 'miss' })).toBe(1);
        expect(total(samples, 'elumenta_gateway_tokens_spent_total', { team: 'ml', model: 'gpt-5' })).toBe(2);
      });
    } finally {
      await gw.close();
    }
  });
});
