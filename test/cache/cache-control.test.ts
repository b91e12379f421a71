// How long answers live and who decides: TTL per category under an injected clock, media
// results bounded by the plan's file retention, the per-model switch, and the per-request
// Cache-Control: no-cache / no-store and x-gateway-cache-ttl headers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { generate, unique } from './helpers.js';

const DAY = 24 * 3600 * 1000;

describe('cache lifetimes and per-request control', () => {
  const clock = new ManualClock();
  let gw: TestGateway;
  let ml: string;
  beforeAll(async () => {
    gw = await startGateway({
      clock,
      simOptions: { plan: 'free' },
      config: {
        cache: { ttl_s: { text: 60, image: 30 * 24 * 3600 }, models: { 'gpt-5-nano': false } },
        auth: { key_cache_ttl_ms: 365 * DAY },
      },
    });
    ml = await gw.team('ml');
  });
  afterAll(async () => gw.close());

  it('a text answer lives its category TTL on the injected clock, then is fetched again', async () => {
    const body = { model: 'gpt-5', prompt: unique('ttl') };
    await generate(gw, ml, body);
    clock.advance(59_000);
    expect((await generate(gw, ml, body)).headers['x-gateway-cache']).toBe('hit');
    clock.advance(1_000);
    expect((await generate(gw, ml, body)).headers['x-gateway-cache']).toBe('miss');
    expect(gw.sim.callsFor(body)).toBe(2);
  });

  it('a media result never outlives the upstream file: 7 days on the free plan, though images may live 30', async () => {
    const body = { model: 'dall-e-3', prompt: unique('a cat') };
    const first = await generate(gw, ml, body);
    expect(first.json().result_url).toMatch(/^https:/);
    clock.advance(7 * DAY - 1_000);
    expect((await generate(gw, ml, body)).headers['x-gateway-cache']).toBe('hit');
    clock.advance(1_000);
    expect((await generate(gw, ml, body)).headers['x-gateway-cache']).toBe('miss');
    expect(gw.sim.callsFor(body)).toBe(2);
  });

  it('x-gateway-cache-ttl sets this answer\'s lifetime; 0 keeps it out of the cache; garbage is a 400', async () => {
    const body = { model: 'gpt-5', prompt: unique('ttl header') };
    expect((await generate(gw, ml, body, { 'x-gateway-cache-ttl': '3600' })).headers['x-gateway-cache']).toBe('miss');
    clock.advance(3_599_000);
    expect((await generate(gw, ml, body)).headers['x-gateway-cache']).toBe('hit');
    clock.advance(1_000);
    expect((await generate(gw, ml, body)).headers['x-gateway-cache']).toBe('miss');

    const never = { model: 'gpt-5', prompt: unique('ttl zero') };
    await generate(gw, ml, never, { 'x-gateway-cache-ttl': '0' });
    expect((await generate(gw, ml, never)).headers['x-gateway-cache']).toBe('miss');
    expect(gw.sim.callsFor(never)).toBe(2);

    const bad = await generate(gw, ml, { model: 'gpt-5', prompt: 'x' }, { 'x-gateway-cache-ttl': 'soon' });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'bad_request', details: { header: 'x-gateway-cache-ttl' } });
  });

  it('Cache-Control: no-cache skips the lookup but stores the fresh answer', async () => {
    const body = { model: 'gpt-5', prompt: unique('no-cache') };
    const first = (await generate(gw, ml, body)).json();
    const fresh = await generate(gw, ml, body, { 'cache-control': 'no-cache' });
    expect(fresh.headers['x-gateway-cache']).toBe('miss');
    expect(fresh.json().id).not.toBe(first.id);
    const hit = await generate(gw, ml, body);
    expect(hit.headers['x-gateway-cache']).toBe('hit');
    expect(hit.json().id).toBe(fresh.json().id);
    expect(gw.sim.callsFor(body)).toBe(2);
  });

  it('Cache-Control: no-store neither reads nor writes', async () => {
    const body = { model: 'gpt-5', prompt: unique('no-store') };
    const first = await generate(gw, ml, body, { 'cache-control': 'no-store' });
    expect(first.headers['x-gateway-cache']).toBe('bypass');
    expect(first.json().tokens_spent).toBe(2);
    expect((await generate(gw, ml, body)).headers['x-gateway-cache']).toBe('miss'); // nothing was stored
    const skip = await generate(gw, ml, body, { 'cache-control': 'max-age=0, no-store' });
    expect(skip.headers['x-gateway-cache']).toBe('bypass'); // something is stored now, but not read
    expect(gw.sim.callsFor(body)).toBe(3);
  });

  it('a model switched off in cache.models is never cached', async () => {
    const body = { model: 'gpt-5-nano', prompt: unique('off') };
    expect((await generate(gw, ml, body)).headers['x-gateway-cache']).toBe('bypass');
    expect((await generate(gw, ml, body)).headers['x-gateway-cache']).toBe('bypass');
    expect(gw.sim.callsFor(body)).toBe(2);
  });
});
