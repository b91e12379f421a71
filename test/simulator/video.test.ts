// Async (video) jobs: pending at first, completed and charged once the injected clock has
// moved past videoDelayMs, as seen by GET /api/v2/generate/:id. No sleeping.
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { fakeClock, get, post } from './helpers.js';

let sim: Simulator | undefined;
afterEach(() => sim?.close());

describe('video jobs', () => {
  it('stay pending until the simulator clock passes videoDelayMs, then complete and charge', async () => {
    const clock = fakeClock();
    sim = await startSimulator({ now: clock.now, videoDelayMs: 30_000, balance: 1000 });
    const res = await post(sim, '/api/v2/generate', { model: 'sora-2', prompt: 'a wave', params: { duration: 10, size: '1920x1080' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'pending', tokens_spent: 0, result_url: null, model_slug: 'sora-2' });
    expect(sim.balance()).toBe(1000);

    clock.advance(29_999);
    const early = await get(sim, `/api/v2/generate/${res.body.id}`);
    expect(early.body.status).toBe('pending');
    expect(sim.tokensCharged()).toBe(0);

    clock.advance(1);
    const done = await get(sim, `/api/v2/generate/${res.body.id}`);
    expect(done.body).toMatchObject({
      id: res.body.id, status: 'completed', tokens_spent: 125, processing_ms: 30_000,
      result_url: `https://storage.elumenta.ru/generations/${res.body.id}.mp4`,
      result_metadata: { duration: 10, width: 1920, height: 1080 },
    });
    expect(sim.balance()).toBe(875);
    expect(sim.tokensCharged()).toBe(125);
    // polling again does not charge twice
    await get(sim, `/api/v2/generate/${res.body.id}`);
    expect(sim.tokensCharged()).toBe(125);
    expect(sim.calls()['GET /api/v2/generate/:id']).toBe(3);
  });

  it('prices a short default video at the minimum and fails [fail] prompts at once', async () => {
    const clock = fakeClock();
    sim = await startSimulator({ now: clock.now, videoDelayMs: 1000 });
    const res = await post(sim, '/api/v2/generate', { model: 'luma-ray2-flash', prompt: 'clouds' });
    const failed = await post(sim, '/api/v2/generate', { model: 'veo-3.1', prompt: '[fail]' });
    expect(failed.body).toMatchObject({ status: 'failed', tokens_spent: 0 });
    clock.advance(1000);
    const done = await get(sim, `/api/v2/generate/${res.body.id}`);
    expect(done.body).toMatchObject({ status: 'completed', tokens_spent: 15, result_metadata: { duration: 5, width: 1280, height: 720 } });
  });
});
