// Streamed and plain twins share one upstream call, in every order and on both replicas
// (Redis): a stream joins a plain twin in flight (its answer replayed as SSE), a plain request
// joins a stream in flight (its final result), and a stream on the other replica relays the
// leader's events live. One charge; every twin answers with tokens_spent 0.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { generate, unique } from '../cache/helpers.js';
import { openStream, textOf } from './sse-client.js';

const STREAM = '/api/v2/generate/stream';

describe('plain and streamed twins over two replicas', () => {
  let a: TestGateway;
  let b: TestGateway;
  let key: string;
  beforeAll(async () => {
    a = await startGateway({ backend: 'redis', config: { cache: { poll_ms: 20 } } });
    b = await startGateway({ backend: 'redis', store: a.store, sim: a.sim, config: { cache: { poll_ms: 20 } } });
    key = await a.team('ml');
  });
  afterAll(async () => {
    a.sim.holdStreams(false);
    await b.close();
    await a.close();
  });

  it('a stream leads on A: a plain twin on A, a stream and a plain twin on B share it', async () => {
    const body = { model: 'gpt-5', prompt: unique('stream first') };
    const spentBefore = (await a.usage('ml')).spent;
    a.sim.holdStreams(true);
    const leader = await openStream(a.url, STREAM, key, body);
    expect((await leader.next()).type).toBe('generation_start');
    expect((await leader.next()).type).toBe('content_delta');
    const plainA = generate(a, key, body);
    const plainB = generate(b, key, body);
    const streamB = await openStream(b.url, '/api/v2/generate', key, { ...body, stream: true }); // the guide's variant
    expect(streamB.headers['x-gateway-cache']).toBe('coalesced');
    expect((await streamB.next()).type).toBe('generation_start'); // relayed live from A while upstream still holds
    a.sim.releaseStreams();
    a.sim.holdStreams(false);

    const leaderRest = await leader.rest();
    const relayed = await streamB.rest();
    const text = textOf(leaderRest);
    expect(textOf(relayed)).toContain(text);
    expect(relayed.at(-2)).toMatchObject({ type: 'generation_end', tokens_used: 0 });
    for (const plain of [await plainA, await plainB]) {
      expect(plain.status).toBe(200);
      expect(plain.headers['x-gateway-cache']).toBe('coalesced');
      expect(plain.json()).toMatchObject({ status: 'completed', tokens_spent: 0 });
    }
    expect(a.sim.callsFor(body)).toBe(1);
    await vi.waitFor(async () => expect((await a.usage('ml')).spent - spentBefore).toBe(2));
  });

  it('a plain request leads on A (upstream slow): stream twins on A and on B get its answer replayed as SSE', async () => {
    const c = await startGateway({ backend: 'redis', simOptions: { latencyMs: 600 }, config: { cache: { poll_ms: 20 } } });
    const d = await startGateway({ backend: 'redis', store: c.store, sim: c.sim, config: { cache: { poll_ms: 20 } } });
    try {
      const team = await c.team('ml');
      const body = { model: 'gpt-5', prompt: unique('plain first') };
      const plain = generate(c, team, body);
      await vi.waitFor(() => expect(c.sim.callsFor(body)).toBe(1), { interval: 5 });
      const [streamC, streamD] = await Promise.all([openStream(c.url, STREAM, team, body), openStream(d.url, STREAM, team, body)]);
      const answer = await plain;
      expect(answer.headers['x-gateway-cache']).toBe('miss');
      for (const s of [streamC, streamD]) {
        expect(s.headers['x-gateway-cache']).toBe('coalesced');
        const events = await s.rest();
        expect(textOf(events)).toBe(answer.json().result_text);
        expect(events.at(-2)).toMatchObject({ type: 'generation_end', tokens_spent: 0 });
      }
      expect(c.sim.callsFor(body)).toBe(1);
      expect((await c.usage('ml')).spent).toBe(answer.json().tokens_spent);
    } finally {
      await d.close();
      await c.close();
    }
  });
});
