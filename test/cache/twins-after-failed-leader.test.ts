// Plain twins waiting on a leader that ends with nothing to share (here: upstream timed out on
// it) are still identical requests in flight together: one of them goes upstream and the
// others share its answer. They must not each make (and pay for) their own call.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cacheKey, GENERATE_ROUTE } from '../../src/cache/cache-key.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { generate, unique, usage } from './helpers.js';

describe('twins of a leader that failed', () => {
  let gw: TestGateway;
  afterEach(async () => gw.close());

  it('make one upstream call between them, paid once', async () => {
    gw = await startGateway({
      simOptions: { latencyMs: 200 },
      config: { upstream: { timeouts: { text: { first_byte_ms: 800, total_ms: 800 } } } },
    });
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
    // On main: 6 calls (the leader's, then one per twin) and 5 charges of 2 tokens for one answer.
    expect(gw.sim.callsFor(body)).toBe(2);
    expect(gw.sim.tokensCharged()).toBe(2);
    expect((await usage(gw, 'ml')).spent).toBe(2);
  });
});
