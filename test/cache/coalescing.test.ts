// Single-flight: identical requests that arrive while the first is in flight wait for its
// answer instead of calling upstream, within one process (both backends) and across replicas
// sharing Redis; a waiter whose leader ended with nothing to share waits on the key's next
// flight; one whose leader died takes over, and one who waited past its bound calls itself.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cacheKey, GENERATE_ROUTE } from '../../src/cache/cache-key.js';
import { redisLockKey } from '../../src/cache/redis-flight-coordinator.js';
import { ManualClock } from '../../src/clock.js';
import { backends } from '../helpers/backends.js';
import { startGateway, type HttpAnswer, type TestGateway } from '../helpers/gateway.js';
import { generate, unique, usage } from './helpers.js';

function outcomes(answers: HttpAnswer[]): Record<string, number> {
  const count: Record<string, number> = {};
  for (const a of answers) count[a.headers['x-gateway-cache']] = (count[a.headers['x-gateway-cache']] ?? 0) + 1;
  return count;
}

describe.each(backends)('coalescing on one $name instance', ({ name }) => {
  let gw: TestGateway;
  let keys: string[];
  beforeAll(async () => {
    gw = await startGateway({ backend: name, simOptions: { latencyMs: 300 } });
    keys = [await gw.team('t0'), await gw.team('t1'), await gw.team('t2')];
  });
  afterAll(async () => gw.close());

  it('50 concurrent identical requests make exactly 1 upstream call', async () => {
    const body = { model: 'gpt-5', prompt: unique('fifty twins') };
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => generate(gw, keys[i % 3], body)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(gw.sim.callsFor(body)).toBe(1);
    const count = outcomes(answers);
    expect(count.miss).toBe(1);
    expect((count.coalesced ?? 0) + (count.hit ?? 0)).toBe(49);
    expect(count.coalesced).toBeGreaterThan(0);
    const paid = answers.find((a) => a.headers['x-gateway-cache'] === 'miss')!.json();
    for (const a of answers.filter((x) => x.headers['x-gateway-cache'] !== 'miss')) {
      expect(a.json()).toEqual({ ...paid, tokens_spent: 0 });
      expect(a.headers['x-gateway-tokens-saved']).toBe('2');
    }
    const spent = (await Promise.all(['t0', 't1', 't2'].map((t) => usage(gw, t)))).map((u) => u.spent);
    expect(spent.reduce((x, y) => x + y, 0)).toBe(2); // one team paid, once
  });

  it('a failed answer is shared with the twins in flight, then forgotten', async () => {
    const body = { model: 'gpt-5', prompt: unique('[fail] twins') };
    const answers = await Promise.all(Array.from({ length: 10 }, () => generate(gw, keys[0], body)));
    expect(answers.every((a) => a.json().status === 'failed')).toBe(true);
    expect(gw.sim.callsFor(body)).toBe(1);
    expect((await generate(gw, keys[0], body)).headers['x-gateway-cache']).toBe('miss');
  });

  it('an upstream error is not shared: one waiter calls again and the others share its answer', async () => {
    const body = { model: 'gpt-5', prompt: unique('errors') };
    const charged = gw.sim.tokensCharged();
    const spent = (await usage(gw, 't1')).spent;
    gw.sim.injectFault(500, 1);
    const answers = await Promise.all(Array.from({ length: 4 }, () => generate(gw, keys[1], body)));
    // The leader got the 500 (passed through); the others were not handed it: one of them led the key's next flight.
    expect(answers.filter((a) => a.status === 500)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
    expect(outcomes(answers.filter((a) => a.status === 200))).toEqual({ miss: 1, coalesced: 2 });
    expect(gw.sim.callsFor(body)).toBe(2);
    expect(gw.sim.tokensCharged() - charged).toBe(2);
    expect((await usage(gw, 't1')).spent - spent).toBe(2);
  });
});

describe('coalescing across replicas sharing Redis', () => {
  let a: TestGateway;
  let b: TestGateway;
  let key: string;
  beforeAll(async () => {
    a = await startGateway({
      backend: 'redis',
      simOptions: { latencyMs: 300 },
      config: { cache: { lock_ms: 400, poll_ms: 50 }, upstream: { timeouts: { text: { first_byte_ms: 5_000, total_ms: 5_000 } } } },
    });
    b = await startGateway({
      backend: 'redis',
      store: a.store,
      sim: a.sim,
      config: { cache: { lock_ms: 400, poll_ms: 50 }, upstream: { timeouts: { text: { first_byte_ms: 5_000, total_ms: 5_000 } } } },
    });
    key = await a.team('ml');
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });
  afterEach(() => a.sim.reset());

  it('50 concurrent identical requests spread over two replicas make at most 2 upstream calls (1 expected)', async () => {
    const body = { model: 'gpt-5', prompt: unique('two replicas') };
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => generate(i % 2 ? b : a, key, body)));
    expect(answers.every((x) => x.status === 200)).toBe(true);
    const calls = a.sim.callsFor(body);
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(2);
    expect(outcomes(answers).miss).toBe(calls);
  });

  /** A replica whose waits run on a manual clock (bound and polls): the test moves time, nothing sleeps. */
  const replicaOnManualTime = async () => {
    const clock = new ManualClock(Date.now());
    const gw = await startGateway({ backend: 'redis', store: a.store, sim: a.sim, clock, timers: clock, config: { cache: { lock_ms: 400, poll_ms: 50 } } });
    return { gw, clock };
  };
  /** The key's cross-replica lock, as another replica holding it would have set it. */
  const lockOf = (body: Record<string, unknown>) => {
    const store = a.store as Extract<TestGateway['store'], { kind: 'redis' }>;
    return { redis: store.redis, key: redisLockKey(store.prefix, cacheKey(GENERATE_ROUTE, body, null)) };
  };

  it('a waiter whose leader died (its lock left behind) takes over when the lock expires', async () => {
    const body = { model: 'gpt-5', prompt: unique('dead leader') };
    const lock = lockOf(body);
    await lock.redis.set(lock.key, 'a-replica-that-died', 'PX', 60_000);
    const { gw, clock } = await replicaOnManualTime();
    try {
      const answers = Promise.all(Array.from({ length: 5 }, () => generate(gw, key, body)));
      await vi.waitFor(() => expect(clock.pending()).toContain(50)); // the first waits for the lock's holder
      clock.advance(50);
      await vi.waitFor(() => expect(clock.pending()).toContain(50)); // looked again: still held, so it waits on
      expect(a.sim.callsFor(body)).toBe(0);
      await lock.redis.del(lock.key); // the dead replica's lock runs out
      clock.advance(50);
      const all = await answers;
      expect(all.every((x) => x.status === 200)).toBe(true);
      expect(a.sim.callsFor(body)).toBe(1);
      expect(outcomes(all)).toEqual({ miss: 1, coalesced: 4 });
    } finally {
      await lock.redis.del(lock.key);
      await gw.close();
    }
  });

  it('a waiter whose leader is alive but too slow calls upstream itself after its bound', async () => {
    const body = { model: 'gpt-5', prompt: unique('slow leader') };
    const lock = lockOf(body);
    await lock.redis.set(lock.key, 'a-leader-that-never-ends', 'PX', 60_000); // alive: its lock stays
    const { gw, clock } = await replicaOnManualTime();
    try {
      const bound = gw.app.services.paid.waitBound('gpt-5'); // text total_ms + lock_ms
      const answer = generate(gw, key, body);
      await vi.waitFor(() => expect(clock.pending()).toContain(50));
      clock.advance(bound - 1);
      // 1 ms before its bound it looked again (the leader alive, no answer) and waits on.
      await vi.waitFor(() => expect(clock.pending()).toContain(1));
      expect(a.sim.callsFor(body)).toBe(0);
      clock.advance(1);
      const res = await answer;
      expect(res.status).toBe(200);
      expect(res.headers['x-gateway-cache']).toBe('miss');
      expect(a.sim.callsFor(body)).toBe(1);
    } finally {
      await lock.redis.del(lock.key);
      await gw.close();
    }
  });
});
