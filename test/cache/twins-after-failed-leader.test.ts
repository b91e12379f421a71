// Plain twins waiting on a leader that ends with nothing to share (upstream timed out on it, or
// its own team's quota refused it) are still identical requests in flight together: one of them
// goes upstream and the others share its answer, on one replica or across replicas sharing
// Redis. They must not each make (and pay for) their own call, nor inherit the leader's refusal.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cacheKey, GENERATE_ROUTE } from '../../src/cache/cache-key.js';
import { startGateway, type HttpAnswer, type TestGateway } from '../helpers/gateway.js';
import { openStream, textOf } from '../stream/sse-client.js';
import { generate, unique, usage } from './helpers.js';

const slowTimeout = { upstream: { timeouts: { text: { first_byte_ms: 800, total_ms: 800 } } } };

function outcomes(answers: HttpAnswer[]): Record<string, number> {
  const count: Record<string, number> = {};
  for (const a of answers) count[a.headers['x-gateway-cache']] = (count[a.headers['x-gateway-cache']] ?? 0) + 1;
  return count;
}

describe('twins of a leader that failed', () => {
  const gateways: TestGateway[] = [];
  afterEach(async () => {
    for (const gw of gateways.splice(0).reverse()) await gw.close();
  });

  it('make one upstream call between them, paid once', async () => {
    const gw = await startGateway({ simOptions: { latencyMs: 200 }, config: slowTimeout });
    gateways.push(gw);
    const key = await gw.team('ml');
    const body = { model: 'gpt-5', prompt: unique('twins of a timed-out leader') };
    gw.sim.injectFault('timeout', 1); // the leader's call hangs until first_byte_ms: 504, outcome unknown
    const leader = generate(gw, key, body);
    await vi.waitFor(() => expect(gw.sim.callsFor(body)).toBe(1));
    const twins = Array.from({ length: 5 }, () => generate(gw, key, body));
    // Sent well within the leader's 800 ms: each finds its flight and waits on it.
    expect(gw.app.services.cache.flights.join(cacheKey(GENERATE_ROUTE, body, null))).toBeDefined();
    expect((await leader).status).toBe(504);
    const answers = await Promise.all(twins);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(outcomes(answers)).toEqual({ miss: 1, coalesced: 4 });
    // On main: 6 calls (the leader's, then one per twin) and 5 charges of 2 tokens for one answer.
    expect(gw.sim.callsFor(body)).toBe(2);
    expect(gw.sim.tokensCharged()).toBe(2);
    expect((await usage(gw, 'ml')).spent).toBe(2);
  });

  it('streamed twins too: one opens the stream, the others follow it', async () => {
    const gw = await startGateway({ simOptions: { latencyMs: 200 }, config: slowTimeout });
    gateways.push(gw);
    const key = await gw.team('ml');
    const body = { model: 'gpt-5', prompt: unique('stream twins of a timed-out leader') };
    gw.sim.injectFault('timeout', 1);
    const leader = generate(gw, key, body);
    await vi.waitFor(() => expect(gw.sim.callsFor(body)).toBe(1));
    const twins = Array.from({ length: 3 }, () => openStream(gw.url, '/api/v2/generate/stream', key, body));
    expect((await leader).status).toBe(504);
    const streams = await Promise.all(twins);
    expect(streams.map((s) => s.headers['x-gateway-cache']).sort()).toEqual(['coalesced', 'coalesced', 'miss']);
    for (const s of streams) expect(textOf(await s.rest())).toContain('Simulated answer (gpt-5)');
    expect(gw.sim.callsFor(body)).toBe(2);
    await vi.waitFor(async () => expect((await usage(gw, 'ml')).spent).toBe(2));
    expect(gw.sim.tokensCharged()).toBe(2);
  });

  it("do not inherit the leader's own quota refusal: one of them goes, once", async () => {
    const gw = await startGateway();
    gateways.push(gw);
    const poor = await gw.team('poor', { budget: { tokens: 1, period: 'month' } });
    const rich = await gw.team('rich');
    const body = { model: 'gpt-5', prompt: unique('twins of a refused leader') };
    const { cache, quota } = gw.app.services;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const reserve = quota.reserve.bind(quota);
    const held = vi.spyOn(quota, 'reserve').mockImplementationOnce(async (...args) => {
      await gate; // the poor leader is held in its reservation while its twins arrive
      return reserve(...args);
    });
    const meet = vi.spyOn(cache.flights, 'meet');
    const refused = generate(gw, poor, body);
    await vi.waitFor(() => expect(held).toHaveBeenCalled());
    const twins = Array.from({ length: 4 }, () => generate(gw, rich, body));
    await vi.waitFor(() => expect(meet).toHaveBeenCalledTimes(5)); // all four wait on the poor leader's flight
    open();
    expect((await refused).status).toBe(402);
    const answers = await Promise.all(twins);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(outcomes(answers)).toEqual({ miss: 1, coalesced: 3 });
    expect(gw.sim.callsFor(body)).toBe(1);
    expect(gw.sim.tokensCharged()).toBe(2);
    expect(await gw.usage('rich')).toMatchObject({ spent: 2, reserved: 0 });
    expect(await gw.usage('poor')).toMatchObject({ spent: 0, reserved: 0 });
  });

  it('on two replicas sharing Redis, make one upstream call between them, paid once', async () => {
    const config = { ...slowTimeout, cache: { poll_ms: 50 } };
    const a = await startGateway({ backend: 'redis', simOptions: { latencyMs: 200 }, config });
    gateways.push(a);
    const b = await startGateway({ backend: 'redis', store: a.store, sim: a.sim, config });
    gateways.push(b);
    const key = await a.team('ml');
    const body = { model: 'gpt-5', prompt: unique('twins of a timed-out leader, two replicas') };
    a.sim.injectFault('timeout', 1);
    const leader = generate(a, key, body);
    await vi.waitFor(() => expect(a.sim.callsFor(body)).toBe(1));
    // Twins on the leader's replica wait on its flight; those on the other follow its lock.
    const twins = Array.from({ length: 8 }, (_, i) => generate(i % 2 ? b : a, key, body));
    expect((await leader).status).toBe(504);
    const answers = await Promise.all(twins);
    expect(answers.every((x) => x.status === 200)).toBe(true);
    expect(outcomes(answers)).toEqual({ miss: 1, coalesced: 7 });
    expect(a.sim.callsFor(body)).toBe(2);
    expect(a.sim.tokensCharged()).toBe(2);
    expect((await usage(a, 'ml')).spent).toBe(2);
  });
});
