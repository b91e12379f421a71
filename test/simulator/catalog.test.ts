// The simulated catalog: the doc's 52 slugs, the model routes and the price calculator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { get, post } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());

describe('catalog', () => {
  it('has the 52 slugs of the price table, unique, with streaming only for text', () => {
    expect(catalog).toHaveLength(52);
    expect(new Set(catalog.map((m) => m.slug)).size).toBe(52);
    const perCategory: Record<string, number> = {};
    for (const m of catalog) perCategory[m.category] = (perCategory[m.category] ?? 0) + 1;
    expect(perCategory).toEqual({ text: 12, image: 10, video: 7, music: 2, tts: 6, stt: 3, audio: 5, tools: 7 });
    for (const m of catalog) {
      expect(m.supports_streaming).toBe(m.category === 'text');
      expect(m.min_token_cost).toBeLessThanOrEqual(m.max_token_cost);
    }
    expect(catalog.find((m) => m.slug === 'gpt-5.2-pro')?.token_cost).toBe(39);
    expect(catalog.find((m) => m.slug === 'el-dubbing')).toMatchObject({ min_token_cost: 60, max_token_cost: 600 });
    expect(catalog.some((m) => m.slug === 'midjourney-v6')).toBe(false);
  });

  it('serves the list as {models} and one model by slug', async () => {
    const list = await get(sim, '/api/v2/models');
    expect(list.status).toBe(200);
    expect(list.body.models).toHaveLength(52);
    const one = await get(sim, '/api/v2/models/dall-e-3');
    expect(one.body).toMatchObject({ slug: 'dall-e-3', category: 'image', provider: 'openai', min_token_cost: 5, max_token_cost: 13 });
    expect(one.body.config.quality_options).toContain('hd');
    const missing = await get(sim, '/api/v2/models/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'not_found', message: expect.any(String), details: { model: 'nope' } });
  });

  it('calculates prices: fixed, matrix (hd picks the max) and per_second video', async () => {
    const fixed = await post(sim, '/api/v2/models/gpt-5/calculate-price', { params: {}, count: 3 });
    expect(fixed.body).toEqual({ token_cost: 6, min_token_cost: 6, max_token_cost: 6, pricing_type: 'fixed' });
    const sd = await post(sim, '/api/v2/models/dall-e-3/calculate-price', { params: { quality: 'standard' }, count: 1 });
    expect(sd.body).toEqual({ token_cost: 5, min_token_cost: 5, max_token_cost: 13, pricing_type: 'matrix' });
    const hd = await post(sim, '/api/v2/models/dall-e-3/calculate-price', { params: { quality: 'hd' }, count: 2 });
    expect(hd.body.token_cost).toBe(26);
    const video = await post(sim, '/api/v2/models/sora-2/calculate-price', { params: { duration: 10 } });
    expect(video.body).toMatchObject({ token_cost: 125, pricing_type: 'per_second' });
    expect((await post(sim, '/api/v2/models/nope/calculate-price', {})).status).toBe(404);
  });

  it('answers balance, profile and history', async () => {
    const bal = await get(sim, '/api/v2/balance');
    expect(bal.body).toEqual({ token_balance: 1_000_000, plan: 'vip', plan_expires_at: expect.stringMatching(/T00:00:00Z$/) });
    const me = await get(sim, '/api/v2/user/me');
    expect(me.body).toMatchObject({ plan: 'vip', limits: { requests_per_hour: 100, requests_per_day: 1000 } });
    await post(sim, '/api/v2/generate', { model: 'gpt-5', prompt: 'for history' });
    const history = await get(sim, '/api/v2/user/history?limit=5&model=gpt-5');
    expect(history.body.generations[0]).toMatchObject({ model_slug: 'gpt-5', prompt: 'for history', status: 'completed' });
    expect(sim.calls()['GET /api/v2/user/history']).toBe(1);
  });
});
