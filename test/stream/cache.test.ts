// Streams and the cache: a completed stream is cached under the same key as the plain request,
// a streamed request served from the cache is replayed as SSE in the upstream's format, a
// plain request is served from a streamed result (and the reverse), even across replicas.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cacheKey, GENERATE_ROUTE } from '../../src/cache/cache-key.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { openStream, textOf } from './sse-client.js';

const streamed = async (gw: TestGateway, key: string, body: Record<string, unknown>, path = '/api/v2/generate/stream') => {
  const s = await openStream(gw.url, path, key, body);
  return { headers: s.headers, events: await s.rest() };
};

describe('streams and the cache', () => {
  const gateways: TestGateway[] = [];
  const start = async (options: Parameters<typeof startGateway>[0] = {}) => {
    const gw = await startGateway(options);
    gateways.push(gw);
    return gw;
  };
  afterEach(async () => {
    for (const gw of gateways.splice(0).reverse()) {
      gw.sim.holdStreams(false);
      await gw.close();
    }
  });

  it('a completed stream is cached; the same stream again is replayed as SSE, free, to the same text', async () => {
    const gw = await start();
    const [ml, web] = [await gw.team('ml'), await gw.team('web')];
    const body = { model: 'gpt-5', prompt: 'cache this stream please' };
    const first = await streamed(gw, ml, body);
    expect(first.headers['x-gateway-cache']).toBe('miss');
    const again = await streamed(gw, web, body);
    expect(again.headers['content-type']).toBe('text/event-stream');
    expect(again.headers['x-gateway-cache']).toBe('hit');
    expect(again.headers['x-gateway-tokens-saved']).toBe('2');
    expect(again.events[0]).toEqual({ type: 'generation_start', id: first.events[0].id, model: 'gpt-5' });
    expect(textOf(again.events)).toBe(textOf(first.events));
    expect(again.events.at(-2)).toEqual({ type: 'generation_end', id: first.events[0].id, tokens_spent: 0 });
    expect(again.events.at(-1)).toBe('[DONE]');
    expect(gw.sim.callsFor(body)).toBe(1);
    expect(await gw.usage('web')).toMatchObject({ spent: 0, reserved: 0 });
    // The guide variant of the same request is a hit too, with its own end event.
    const guide = await streamed(gw, web, { ...body, stream: true }, '/api/v2/generate');
    expect(guide.headers['x-gateway-cache']).toBe('hit');
    expect(guide.events.at(-2)).toMatchObject({ type: 'generation_end', tokens_used: 0, tokens_spent: 0 });
    // The team handed the generation may poll it.
    expect((await gw.api('GET', `/api/v2/generate/${first.events[0].id}`, web)).status).toBe(200);
  });

  it('a plain request is served from a streamed result, in the non-streamed answer shape', async () => {
    const gw = await start();
    const ml = await gw.team('ml');
    const body = { model: 'gpt-5', prompt: 'streamed then plain' };
    const first = await streamed(gw, ml, body);
    const plain = await gw.api('POST', '/api/v2/generate', ml, body);
    expect(plain.headers['x-gateway-cache']).toBe('hit');
    expect(plain.headers['x-gateway-tokens-saved']).toBe('2');
    expect(plain.json()).toMatchObject({
      id: first.events[0].id,
      status: 'completed',
      model_slug: 'gpt-5',
      result_text: textOf(first.events),
      result_url: null,
      thumbnail_url: null,
      error: null,
      tokens_spent: 0,
      result_metadata: null,
    });
    expect(gw.sim.callsFor(body)).toBe(1);
  });

  it('a streamed request is served from a plain result', async () => {
    const gw = await start();
    const ml = await gw.team('ml');
    const body = { model: 'gpt-5', prompt: 'plain then streamed' };
    const plain = (await gw.api('POST', '/api/v2/generate', ml, body)).json();
    const again = await streamed(gw, ml, body);
    expect(again.headers['x-gateway-cache']).toBe('hit');
    expect(textOf(again.events)).toBe(plain.result_text);
    expect(gw.sim.callsFor(body)).toBe(1);
  });

  it('a plain request arriving during the stream waits for it and shares its result', async () => {
    const gw = await start();
    const ml = await gw.team('ml');
    const body = { model: 'gpt-5', prompt: 'plain joins a live stream' };
    const key = cacheKey(GENERATE_ROUTE, body, null);
    const join = vi.spyOn(gw.app.services.cache.flights, 'join');
    gw.sim.holdStreams(true);
    const s = await openStream(gw.url, '/api/v2/generate/stream', ml, body);
    await s.next();
    const plain = gw.api('POST', '/api/v2/generate', ml, body);
    await vi.waitFor(() => expect(join.mock.results.some((r, i) => join.mock.calls[i][0] === key && r.value)).toBe(true));
    gw.sim.releaseStreams();
    const text = textOf(await s.rest());
    const answer = await plain;
    expect(answer.headers['x-gateway-cache']).toBe('coalesced');
    expect(answer.json()).toMatchObject({ result_text: 'Simulated answer (gpt-5): plain joins a live stream', tokens_spent: 0 });
    expect(text).toBe('Simulated answer (gpt-5): plain joins a live stream');
    expect(gw.sim.callsFor(body)).toBe(1);
  });

  it('a stream whose client left is still cached; a cut stream is cached from its poll; an error is not cached', async () => {
    const gw = await start();
    const ml = await gw.team('ml');
    const left = { model: 'gpt-5', prompt: 'client leaves' };
    gw.sim.holdStreams(true);
    const s = await openStream(gw.url, '/api/v2/generate/stream', ml, left);
    await s.next();
    s.abort();
    gw.sim.releaseStreams();
    gw.sim.holdStreams(false);
    await gw.app.services.streams.drain();
    expect((await streamed(gw, ml, left)).headers['x-gateway-cache']).toBe('hit');
    expect(gw.sim.callsFor(left)).toBe(1);

    const cut = { model: 'gpt-5', prompt: 'cut me [stream-break]' };
    const broken = await streamed(gw, ml, cut);
    const replay = await streamed(gw, ml, cut);
    expect(replay.headers['x-gateway-cache']).toBe('hit');
    expect(textOf(replay.events)).toBe(textOf(broken.events));
    expect(gw.sim.callsFor(cut)).toBe(1);

    const failing = { model: 'gpt-5', prompt: 'fails [stream-error]' };
    await streamed(gw, ml, failing);
    expect((await streamed(gw, ml, failing)).headers['x-gateway-cache']).toBe('miss');
    expect(gw.sim.callsFor(failing)).toBe(2);
  });

  it('across replicas (Redis), a stream completed on one is a hit on the other', async () => {
    const a = await start({ backend: 'redis' });
    const b = await start({ backend: 'redis', store: a.store, sim: a.sim });
    const ml = await a.team('ml');
    const body = { model: 'gpt-5', prompt: 'replica to replica' };
    const first = await streamed(a, ml, body);
    const other = await streamed(b, ml, body);
    expect(other.headers['x-gateway-cache']).toBe('hit');
    expect(textOf(other.events)).toBe(textOf(first.events));
    expect(a.sim.callsFor(body)).toBe(1);
  });
});
