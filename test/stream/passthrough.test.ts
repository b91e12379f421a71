// Streams reach the client as they arrive: SSE headers, the first chunk while upstream is
// still held, a heartbeat comment on a quiet line, and both documented variants.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { openStream, textOf } from './sse-client.js';

describe('stream passthrough', () => {
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    gw = await startGateway({ config: { stream: { heartbeat_interval_ms: 25 } } });
    key = await gw.team('ml');
  });
  afterAll(async () => gw.close());

  it('sends SSE headers and relays the upstream events unchanged (reference variant)', async () => {
    const s = await openStream(gw.url, '/api/v2/generate/stream', key, { model: 'gpt-5', prompt: 'tell me a story' });
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('text/event-stream');
    expect(s.headers['cache-control']).toBe('no-cache');
    expect(s.headers['x-accel-buffering']).toBe('no');
    expect(s.headers['x-gateway-cache']).toBe('miss');
    expect(s.headers['content-encoding']).toBeUndefined();
    expect(s.headers['x-ratelimit-limit-hour']).toBeUndefined(); // account-wide: see test/security/account-headers.test.ts
    const events = await s.rest();
    expect(events[0]).toMatchObject({ type: 'generation_start', model: 'gpt-5' });
    expect(textOf(events)).toBe('Simulated answer (gpt-5): tell me a story');
    expect(events.at(-2)).toEqual({ type: 'generation_end', id: events[0].id, tokens_spent: 2 });
    expect(events.at(-1)).toBe('[DONE]');
  });

  it('the guide variant ("stream": true on /generate) streams too, ending with tokens_used', async () => {
    const body = { model: 'gpt-5', messages: [{ role: 'user', content: 'guide story' }], stream: true };
    const s = await openStream(gw.url, '/api/v2/generate', key, body);
    expect(s.headers['content-type']).toBe('text/event-stream');
    const events = await s.rest();
    expect(textOf(events)).toBe('Simulated answer (gpt-5): guide story');
    expect(events.at(-2)).toMatchObject({ type: 'generation_end', tokens_used: 2 });
    expect(gw.sim.calls()['POST /api/v2/generate']).toBeGreaterThanOrEqual(1);
  });

  it('chunks arrive before the upstream finishes', async () => {
    gw.sim.holdStreams(true);
    const chargedBefore = gw.sim.tokensCharged();
    try {
      const s = await openStream(gw.url, '/api/v2/generate/stream', key, { model: 'gpt-5', prompt: 'one two three four' });
      const start = await s.next();
      const first = await s.next();
      // The upstream is held after its first delta: the client already has it.
      expect(start.type).toBe('generation_start');
      expect(first).toEqual({ type: 'content_delta', delta: 'Simulated' });
      expect(gw.sim.tokensCharged()).toBe(chargedBefore); // upstream has not finished
      gw.sim.releaseStreams();
      const rest = await s.rest();
      expect(first.delta + textOf(rest)).toBe('Simulated answer (gpt-5): one two three four');
      expect(rest.at(-2)).toMatchObject({ type: 'generation_end', tokens_spent: 2 });
    } finally {
      gw.sim.holdStreams(false);
    }
  });

  it('a quiet line gets a keep-alive comment at the heartbeat interval', async () => {
    gw.sim.holdStreams(true);
    try {
      const s = await openStream(gw.url, '/api/v2/generate/stream', key, { model: 'gpt-5', prompt: 'quiet line' });
      await s.next();
      await s.next();
      // Held upstream: nothing but heartbeats until released.
      expect(await s.nextComment()).toBe(': keep-alive');
      expect(await s.nextComment()).toBe(': keep-alive');
      gw.sim.releaseStreams();
      expect(textOf(await s.rest())).toBe(' answer (gpt-5): quiet line');
    } finally {
      gw.sim.holdStreams(false);
    }
  });
});
