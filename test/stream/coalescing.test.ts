// Identical concurrent streams share one upstream stream on a replica: followers get what has
// arrived so far, then the rest live; they pay and reserve nothing, and may poll the generation.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { openStream, textOf, type StreamAnswer } from './sse-client.js';


describe('stream coalescing', () => {
  let gw: TestGateway;
  beforeEach(async () => {
    gw = await startGateway();
  });
  afterEach(async () => {
    gw.sim.holdStreams(false);
    await gw.close();
  });

  it('10 concurrent identical streams: 1 upstream stream, all 10 clients get the full text', async () => {
    const keys = await Promise.all(Array.from({ length: 10 }, (_, i) => gw.team(`team${i}`)));
    const body = { model: 'gpt-5', prompt: 'shared story of ten words or so' };
    gw.sim.holdStreams(true);
    const streams = await Promise.all(keys.map((key) => openStream(gw.url, '/api/v2/generate/stream', key, body)));
    // Everyone has the start and the first delta while upstream is still held.
    for (const s of streams) {
      expect((await s.next()).type).toBe('generation_start');
      expect(await s.next()).toEqual({ type: 'content_delta', delta: 'Simulated' });
    }
    gw.sim.releaseStreams();
    const all = await Promise.all(streams.map(async (s) => ['Simulated', ...(await s.rest())]));
    for (const events of all) {
      expect('Simulated' + textOf(events.slice(1))).toBe('Simulated answer (gpt-5): shared story of ten words or so');
      expect(events.at(-1)).toBe('[DONE]');
    }
    expect(gw.sim.callsFor(body)).toBe(1);

    const leaders = streams.filter((s) => s.headers['x-gateway-cache'] === 'miss');
    const followers = streams.filter((s) => s.headers['x-gateway-cache'] === 'coalesced');
    expect(leaders).toHaveLength(1);
    expect(followers).toHaveLength(9);
    expect(followers[0].headers['x-gateway-tokens-saved']).toBe('2');
    // Only the leader's team paid; the others reserved nothing.
    const spent = await Promise.all(keys.map((_, i) => gw.usage(`team${i}`)));
    expect(spent.map((u) => u.spent).sort()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    expect(spent.every((u) => u.reserved === 0)).toBe(true);
    const ends = all.map((events) => events.at(-2));
    expect(ends.filter((e) => e.tokens_spent === 2)).toHaveLength(1);
    expect(ends.filter((e) => e.tokens_spent === 0)).toHaveLength(9);
  });

  it('a follower joining late gets the events so far, its own variant end event, and may poll the generation', async () => {
    const leaderKey = await gw.team('leader');
    const followerKey = await gw.team('follower');
    gw.sim.holdStreams(true);
    const leader = await openStream(gw.url, '/api/v2/generate/stream', leaderKey, { model: 'gpt-5', prompt: 'late join' });
    const start = await leader.next();
    await leader.next();
    // The guide variant of the same request (only `stream` differs) joins the reference stream.
    const follower: StreamAnswer = await openStream(gw.url, '/api/v2/generate', followerKey, { model: 'gpt-5', prompt: 'late join', stream: true });
    expect(follower.headers['x-gateway-cache']).toBe('coalesced');
    expect(await follower.next()).toEqual(start);
    gw.sim.releaseStreams();
    const [leaderRest, followerRest] = await Promise.all([leader.rest(), follower.rest()]);
    expect(textOf(followerRest)).toBe('Simulated answer (gpt-5): late join');
    expect(leaderRest.at(-2)).toMatchObject({ type: 'generation_end', tokens_spent: 2 });
    expect(followerRest.at(-2)).toMatchObject({ type: 'generation_end', id: start.id, tokens_used: 0 });
    expect(gw.sim.totalGenerateCalls()).toBe(1);
    const poll = await gw.api('GET', `/api/v2/generate/${start.id}`, followerKey);
    expect(poll.status).toBe(200);
    expect(poll.json().result_text).toBe('Simulated answer (gpt-5): late join');
  });

  it('Cache-Control: no-store keeps a request out of sharing', async () => {
    const key = await gw.team('ml');
    const body = { model: 'gpt-5', prompt: 'private' };
    gw.sim.holdStreams(true);
    const a = await openStream(gw.url, '/api/v2/generate/stream', key, body);
    await a.next();
    const b = await openStream(gw.url, '/api/v2/generate/stream', key, body, { 'cache-control': 'no-store' });
    expect(b.headers['x-gateway-cache']).toBe('bypass');
    gw.sim.releaseStreams();
    await Promise.all([a.rest(), b.rest()]);
    expect(gw.sim.callsFor(body)).toBe(2);
  });

  /** Holds the first call of `method` on `target` until `release()`; `reached()` waits for that call. */
  function holdFirstCall<T extends object>(target: T, method: keyof T & string) {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const original = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target);
    const spy = vi.spyOn(target, method as never).mockImplementationOnce((async (...args: unknown[]) => {
      await gate;
      return original(...args);
    }) as never);
    return { release: open, reached: () => vi.waitFor(() => expect(spy).toHaveBeenCalled()) };
  }

  /** Waits until the cache was asked about a second request (which then goes straight to the live broadcast). */
  function secondLookup() {
    const lookup = vi.spyOn(gw.app.services.cache, 'lookup');
    return () => vi.waitFor(() => expect(lookup).toHaveBeenCalledTimes(2));
  }

  it('a leader refused by its own team quota hands over: the follower opens the stream itself', async () => {
    const poor = await gw.team('poor', { budget: { tokens: 1, period: 'month' } });
    const rich = await gw.team('rich');
    const body = { model: 'gpt-5', prompt: 'quota hand-over' };
    const reserve = holdFirstCall(gw.app.services.quota, 'reserve');
    const followerWaiting = secondLookup();
    const refused = openStream(gw.url, '/api/v2/generate/stream', poor, body);
    await reserve.reached(); // poor leads (it claimed the key) and is held in its reservation
    const handedOver = openStream(gw.url, '/api/v2/generate/stream', rich, body);
    await followerWaiting();
    reserve.release();
    expect((await refused).status).toBe(402);
    const s = await handedOver;
    expect(s.headers['x-gateway-cache']).toBe('miss');
    expect(textOf(await s.rest())).toBe('Simulated answer (gpt-5): quota hand-over');
    expect(gw.sim.callsFor(body)).toBe(1);
    expect(await gw.usage('rich')).toMatchObject({ spent: 2, reserved: 0 });
  });

  it('followers of a leader whose upstream refused get the same answer, free', async () => {
    const [a, b] = [await gw.team('a'), await gw.team('b')];
    const body = { model: 'photon', prompt: 'not a text model' };
    const upstream = holdFirstCall(gw.app.services.upstream, 'stream');
    const followerWaiting = secondLookup();
    const leader = openStream(gw.url, '/api/v2/generate/stream', a, body);
    await upstream.reached();
    const follower = openStream(gw.url, '/api/v2/generate/stream', b, body);
    await followerWaiting();
    upstream.release();
    const [first, second] = await Promise.all([leader, follower]);
    expect([first.status, second.status]).toEqual([400, 400]);
    expect(first.headers['x-gateway-cache']).toBe('miss');
    expect(second.headers['x-gateway-cache']).toBe('coalesced');
    expect(JSON.parse(await second.text())).toEqual(JSON.parse(await first.text()));
    expect(gw.sim.callsFor(body)).toBe(1);
    expect(await gw.usage('a')).toMatchObject({ spent: 0, reserved: 0 });
  });
});
