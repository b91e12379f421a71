// SSE streaming, both documented variants, the scripted mid-stream failures, and hold/release
// to prove chunks reach the client before the stream ends.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { get, openStream, post } from './helpers.js';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ balance: 50 });
});
afterEach(() => sim.close());

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const textOf = (events: any[]) => events.filter((e) => e.type === 'content_delta').map((e) => e.delta).join('');

describe('streaming', () => {
  it('both variants stream the same text, each with its own end event', async () => {
    const ref = await openStream(sim, '/api/v2/generate/stream', { model: 'gpt-5', prompt: 'tell me a story' });
    expect(ref.status).toBe(200);
    expect(ref.headers['content-type']).toBe('text/event-stream');
    expect(ref.headers['cache-control']).toBe('no-cache');
    expect(ref.headers['x-ratelimit-remaining-hour']).toBe('99');
    const a = await ref.rest();
    const guide = await openStream(sim, '/api/v2/generate', { model: 'gpt-5', messages: [{ role: 'user', content: 'tell me a story' }], stream: true });
    const b = await guide.rest();

    expect(a[0]).toEqual({ type: 'generation_start', id: 18473, model: 'gpt-5' });
    expect(a.filter((e) => e.type === 'content_delta').length).toBeGreaterThan(3);
    expect(textOf(a)).toBe('Simulated answer (gpt-5): tell me a story');
    expect(textOf(b)).toBe(textOf(a));
    expect(a.at(-2)).toEqual({ type: 'generation_end', id: 18473, tokens_spent: 2 });
    expect(b.at(-2)).toEqual({ type: 'generation_end', id: 18474, tokens_used: 2, balance_remaining: 46 });
    expect(a.at(-1)).toBe('[DONE]');
    expect(b.at(-1)).toBe('[DONE]');

    expect((await get(sim, '/api/v2/generate/18473')).body).toMatchObject({ status: 'completed', result_text: textOf(a), tokens_spent: 2 });
    expect(sim.callsFor({ model: 'gpt-5', prompt: 'tell me a story' })).toBe(1);
    expect(sim.calls()).toMatchObject({ 'POST /api/v2/generate/stream': 1, 'POST /api/v2/generate': 1 });
    expect(sim.totalGenerateCalls()).toBe(2);
  });

  it('hold/release: the first chunk arrives while the stream is still open', async () => {
    sim.holdStreams(true);
    const s = await openStream(sim, '/api/v2/generate/stream', { model: 'gpt-5', prompt: 'one two three' });
    const start = await s.next();
    const first = await s.next();
    expect(first).toEqual({ type: 'content_delta', delta: 'Simulated' });
    // held: the generation has not finished, nothing is charged yet
    expect((await get(sim, `/api/v2/generate/${start.id}`)).body.status).toBe('pending');
    expect(sim.tokensCharged()).toBe(0);
    sim.releaseStreams();
    const rest = await s.rest();
    expect(rest.at(-2)).toMatchObject({ type: 'generation_end', tokens_spent: 2 });
    expect(first.delta + textOf(rest)).toBe('Simulated answer (gpt-5): one two three');
    sim.holdStreams(false);
  });

  it('[stream-error]: start, one delta, an error event, [DONE]; failed and free', async () => {
    const s = await openStream(sim, '/api/v2/generate/stream', { model: 'gpt-5', prompt: 'x [stream-error]' });
    const events = await s.rest();
    expect(events.map((e) => e.type ?? e)).toEqual(['generation_start', 'content_delta', 'error', '[DONE]']);
    expect(events[2]).toEqual({ type: 'error', message: 'provider failed' });
    expect((await get(sim, `/api/v2/generate/${events[0].id}`)).body).toMatchObject({ status: 'failed', tokens_spent: 0 });
    expect(sim.balance()).toBe(50);
  });

  it('[stream-break]: two deltas then a cut socket; still completed and charged', async () => {
    const s = await openStream(sim, '/api/v2/generate/stream', { model: 'claude-opus-4.5', prompt: 'y [stream-break]' });
    const start = await s.next();
    expect((await s.next()).type).toBe('content_delta');
    expect((await s.next()).type).toBe('content_delta');
    await expect(s.next()).rejects.toThrow();
    expect((await get(sim, `/api/v2/generate/${start.id}`)).body).toMatchObject({ status: 'completed', tokens_spent: 6 });
    expect(sim.balance()).toBe(44);
  });

  it('refuses to stream a non-text model, and checks the balance first', async () => {
    const img = await post(sim, '/api/v2/generate/stream', { model: 'photon', prompt: 'a cat' });
    expect(img.status).toBe(400);
    expect(img.body.error).toBe('bad_request');
    expect((await post(sim, '/api/v2/generate', { model: 'photon', prompt: 'a cat', stream: true })).status).toBe(400);
    sim.setBalance(1);
    expect((await post(sim, '/api/v2/generate/stream', { model: 'gpt-5', prompt: 'a' })).status).toBe(402);
  });

  it('spaces chunks by streamChunkDelayMs', async () => {
    const slow = await startSimulator({ streamChunkDelayMs: 10 });
    try {
      const t0 = Date.now();
      const events = await (await openStream(slow, '/api/v2/generate/stream', { model: 'gpt-5', prompt: 'a b' })).rest();
      const deltas = events.filter((e) => e.type === 'content_delta').length;
      expect(Date.now() - t0).toBeGreaterThanOrEqual((deltas - 1) * 10 - 5);
    } finally {
      await slow.close();
    }
  });
});
