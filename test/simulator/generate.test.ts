// POST /api/v2/generate: auth, validation, instant results, pricing, balance and counters.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { get, post } from './helpers.js';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ balance: 100 });
});
afterEach(() => sim.close());

describe('generate', () => {
  it('rejects a wrong or missing key with 401 not_authenticated', async () => {
    const wrong = await post(sim, '/api/v2/generate', { model: 'gpt-5', prompt: 'hi' }, 'nb_wrong');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'not_authenticated', message: expect.any(String), details: {} });
    const res = await fetch(`${sim.url}/api/v2/balance`);
    expect(res.status).toBe(401);
    expect(sim.balance()).toBe(100);
  });

  it('completes a text generation at once and debits the balance', async () => {
    const res = await post(sim, '/api/v2/generate', { model: 'gpt-5', prompt: 'Explain qubits' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: 18473, status: 'completed', model_slug: 'gpt-5', result_text: 'Simulated answer (gpt-5): Explain qubits',
      result_url: null, thumbnail_url: null, error: null, tokens_spent: 2, processing_ms: 0, result_metadata: null,
    });
    expect(res.headers['x-ratelimit-limit-hour']).toBe('100');
    expect(res.headers['x-ratelimit-remaining-hour']).toBe('99');
    expect(sim.balance()).toBe(98);
    expect(sim.tokensCharged()).toBe(2);
    const again = await post(sim, '/api/v2/generate', { model: 'gpt-5', messages: [{ role: 'user', content: 'last one' }] });
    expect(again.body).toMatchObject({ id: 18474, result_text: 'Simulated answer (gpt-5): last one' });
    expect(again.headers['x-ratelimit-remaining-hour']).toBe('98');
    expect((await get(sim, '/api/v2/generate/18473')).body.status).toBe('completed');
    expect((await get(sim, '/api/v2/generate/99')).status).toBe(404);
  });

  it('counts calls per canonical body, ignoring key order and the stream flag', async () => {
    await post(sim, '/api/v2/generate', { model: 'gpt-5', prompt: 'x', params: { temperature: 0.2, max_tokens: 5 } });
    await post(sim, '/api/v2/generate', { params: { max_tokens: 5, temperature: 0.2 }, prompt: 'x', model: 'gpt-5' });
    await post(sim, '/api/v2/generate', { model: 'gpt-5', prompt: 'y' });
    expect(sim.callsFor({ prompt: 'x', model: 'gpt-5', params: { max_tokens: 5, temperature: 0.2 } })).toBe(2);
    expect(sim.callsFor({ model: 'gpt-5', prompt: 'y', stream: true })).toBe(1);
    expect(sim.callsFor({ model: 'gpt-5', prompt: 'z' })).toBe(0);
    expect(sim.totalGenerateCalls()).toBe(3);
    expect(sim.calls()).toEqual({ 'POST /api/v2/generate': 3 });
    const http = await (await fetch(`${sim.url}/__sim/calls`)).json();
    expect(http).toEqual({ calls: { 'POST /api/v2/generate': 3 }, total_generate_calls: 3, tokens_charged: 6, balance: 94 });
    await fetch(`${sim.url}/__sim/reset`, { method: 'POST' });
    expect(sim.totalGenerateCalls()).toBe(0);
    expect(sim.callsFor({ model: 'gpt-5', prompt: 'y' })).toBe(0);
    expect(sim.tokensCharged()).toBe(0);
  });

  it('answers a content-policy failure as a 200 failed generation that costs nothing', async () => {
    const res = await post(sim, '/api/v2/generate', { model: 'claude-opus-4.5', prompt: 'please [fail] now' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'failed', error: 'Content policy violation', tokens_spent: 0, result_text: null });
    expect(sim.balance()).toBe(100);
    expect(sim.tokensCharged()).toBe(0);
  });

  it('validates the body and the slug, accepting the docs\' extra example slugs', async () => {
    expect((await post(sim, '/api/v2/generate', { prompt: 'no model' })).body.error).toBe('bad_request');
    expect((await post(sim, '/api/v2/generate', { model: 5, prompt: 'x' })).status).toBe(400);
    expect((await post(sim, '/api/v2/generate', { model: 'gpt-5' })).status).toBe(400);
    const unknown = await post(sim, '/api/v2/generate', { model: 'gpt-99', prompt: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: 'not_found', details: { model: 'gpt-99' } });
    const mj = await post(sim, '/api/v2/generate', { model: 'midjourney-v6', prompt: 'a cat', size: '1792x1024' });
    expect(mj.body).toMatchObject({ status: 'completed', tokens_spent: 2, result_metadata: { width: 1792, height: 1024 } });
    expect(mj.body.result_url).toBe(`https://storage.elumenta.ru/generations/${mj.body.id}.webp`);
    const kling = await post(sim, '/api/v2/generate', { model: 'kling-v2.1-pro', prompt: 'waves' });
    expect(kling.body.status).toBe('pending');
    const bad = await fetch(`${sim.url}/api/v2/generate`, {
      method: 'POST', headers: { authorization: `Bearer ${sim.apiKey}`, 'content-type': 'application/json' }, body: '{nope',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'bad_request', details: {} });
  });

  it('prices ranged models at the minimum, or the maximum for hd / duration >= 10; media results', async () => {
    const sd = await post(sim, '/api/v2/generate', { model: 'dall-e-3', prompt: 'a', params: { quality: 'standard' } });
    expect(sd.body.tokens_spent).toBe(5);
    const hd = await post(sim, '/api/v2/generate', { model: 'dall-e-3', prompt: 'a', quality: 'hd' });
    expect(hd.body.tokens_spent).toBe(13);
    expect(hd.body.thumbnail_url).toMatch(/\.webp$/);
    const tts = await post(sim, '/api/v2/generate', { model: 'openai-tts', text: 'one two three four five' });
    expect(tts.body).toMatchObject({ status: 'completed', tokens_spent: 3, result_metadata: { duration: 2 } });
    expect(tts.body.result_url).toMatch(/\/\d+\.mp3$/);
    const stt = await post(sim, '/api/v2/generate', { model: 'whisper', prompt: 'audio.mp3' });
    expect(stt.body.result_text).toContain('audio.mp3');
    expect(sim.balance()).toBe(100 - 5 - 13 - 3 - 2);
  });

  it('answers 402 insufficient_tokens once the balance cannot pay', async () => {
    sim.setBalance(3);
    expect((await post(sim, '/api/v2/generate', { model: 'gpt-5', prompt: 'a' })).status).toBe(200);
    const res = await post(sim, '/api/v2/generate', { model: 'gpt-5', prompt: 'b' });
    expect(res.status).toBe(402);
    expect(res.body).toEqual({ error: 'insufficient_tokens', message: expect.any(String), details: { required: 2, balance: 1 } });
    expect(sim.balance()).toBe(1);
    expect((await get(sim, '/api/v2/balance')).body.token_balance).toBe(1);
  });

  it('delays answers by latencyMs', async () => {
    const slow = await startSimulator({ latencyMs: 60 });
    try {
      const t0 = Date.now();
      const res = await post(slow, '/api/v2/generate', { model: 'gpt-5', prompt: 'a' });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
      expect(res.body.processing_ms).toBe(60);
    } finally {
      await slow.close();
    }
  });
});
