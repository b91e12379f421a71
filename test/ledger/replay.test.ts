// A replayed workload over two replicas on Redis: unique prompts, repeats, concurrent plain
// bursts, video jobs resubmitted while pending and after, streamed and plain twins (both
// stream variants) in every order and on both replicas. Each answer is paid once: tokens the
// simulator charged == the sum over unique requests == the ledger's tokens_spent == the teams'
// spent; and the ledger's tokens_saved == the price of every shared answer.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { generate, unique } from '../cache/helpers.js';
import { openStream, textOf } from '../stream/sse-client.js';

const STREAM = '/api/v2/generate/stream';

describe('replay over two replicas', () => {
  const simClock = new ManualClock(Date.now());
  let a: TestGateway;
  let b: TestGateway;
  const keys: Record<string, string> = {};
  /** Per unique request: its price (what the simulator charged for it) and how many requests asked for it. */
  const uniques: Array<{ price: number; requests: number }> = [];
  let requests = 0;

  beforeAll(async () => {
    const config = { cache: { poll_ms: 20 } };
    a = await startGateway({ backend: 'redis', config, simOptions: { latencyMs: 150, videoDelayMs: 60_000, now: () => simClock.now() } });
    b = await startGateway({ backend: 'redis', store: a.store, sim: a.sim, config });
    keys.ml = await a.team('ml');
    keys.web = await a.team('web');
  });
  afterAll(async () => {
    a.sim.holdStreams(false);
    await b.close();
    await a.close();
  });

  /** Runs one unique request's traffic (`asks` requests in all) and records what the simulator charged for it. */
  async function unique1(asks: number, run: () => Promise<void>): Promise<void> {
    const before = a.sim.tokensCharged();
    const calls = a.sim.totalGenerateCalls();
    await run();
    expect(a.sim.totalGenerateCalls() - calls).toBe(1); // paid once, whatever the mix
    uniques.push({ price: a.sim.tokensCharged() - before, requests: asks });
    requests += asks;
  }
  const gw = (i: number) => (i % 2 === 0 ? a : b);
  const team = (i: number) => (i % 3 === 0 ? keys.web : keys.ml);

  it('pays each unique request once and records every saving', async () => {
    // Unique prompts, then each repeated on the other replica (hits).
    for (let i = 0; i < 6; i++) {
      const body = { model: 'gpt-5', prompt: unique(`unique ${i}`) };
      await unique1(2, async () => {
        expect((await generate(gw(i), team(i), body)).headers['x-gateway-cache']).toBe('miss');
        expect((await generate(gw(i + 1), team(i + 1), body)).headers['x-gateway-cache']).toBe('hit');
      });
    }
    // Concurrent plain bursts over both replicas.
    for (let round = 0; round < 2; round++) {
      const body = { model: 'claude-opus-4.5', prompt: unique(`burst ${round}`) };
      await unique1(10, async () => {
        const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => generate(gw(i), team(i), body)));
        for (const answer of answers) expect(answer.status).toBe(200);
      });
    }
    // Video jobs: resubmitted while pending (on the other replica), polled to the end, resubmitted after.
    for (let j = 0; j < 2; j++) {
      const body = { model: 'kling-v2.1', prompt: unique(`video ${j}`), duration: 5 };
      await unique1(3, async () => {
        const started = await generate(gw(j), team(j), body);
        expect(started.json().status).toBe('pending');
        const twin = await generate(gw(j + 1), team(j + 1), body);
        expect(twin.json()).toMatchObject({ id: started.json().id, status: 'pending', tokens_spent: 0 });
        simClock.advance(90_000);
        const polled = await gw(j + 1).api('GET', `/api/v2/generate/${started.json().id}`, team(j + 1));
        expect(polled.json()).toMatchObject({ status: 'completed' });
        expect((await generate(gw(j), team(j + 2), body)).headers['x-gateway-cache']).toBe('hit');
      });
    }
    // A stream leads; plain and streamed twins (both variants) join it on both replicas.
    for (let s = 0; s < 2; s++) {
      const [lead, other] = s === 0 ? [a, b] : [b, a];
      const body = { model: 'gpt-5', prompt: unique(`stream first ${s}`) };
      await unique1(4, async () => {
        a.sim.holdStreams(true);
        const leader = await openStream(lead.url, STREAM, team(s), body);
        await leader.next();
        const plainHere = generate(lead, team(s + 1), body);
        const plainThere = generate(other, team(s + 2), body);
        const streamThere = await openStream(other.url, '/api/v2/generate', team(s + 1), { ...body, stream: true });
        a.sim.holdStreams(false);
        a.sim.releaseStreams();
        const text = textOf(await leader.rest());
        expect(textOf(await streamThere.rest())).toContain(text);
        for (const plain of [await plainHere, await plainThere]) expect(plain.json()).toMatchObject({ status: 'completed', tokens_spent: 0 });
      });
    }
    // A plain request leads (upstream takes 150 ms); streamed twins on both replicas and a plain twin join it.
    for (let p = 0; p < 2; p++) {
      const [lead, other] = p === 0 ? [a, b] : [b, a];
      const body = { model: 'gpt-5', prompt: unique(`plain first ${p}`) };
      await unique1(4, async () => {
        const calls = a.sim.callsFor(body);
        const plain = generate(lead, team(p), body);
        await vi.waitFor(() => expect(a.sim.callsFor(body)).toBe(calls + 1), { interval: 2 });
        const streams = await Promise.all([
          openStream(lead.url, STREAM, team(p + 1), body),
          openStream(other.url, '/api/v2/generate', team(p + 2), { ...body, stream: true }),
        ]);
        const twin = generate(other, team(p + 1), body);
        const answer = await plain;
        for (const s of streams) expect(textOf(await s.rest())).toBe(answer.json().result_text);
        expect((await twin).json().tokens_spent).toBe(0);
      });
    }

    const paid = uniques.reduce((sum, u) => sum + u.price, 0);
    const saved = uniques.reduce((sum, u) => sum + u.price * (u.requests - 1), 0);
    expect(a.sim.tokensCharged()).toBe(paid);
    const spent = (await a.usage('ml')).spent + (await a.usage('web')).spent;
    expect(spent).toBe(paid);
    await vi.waitFor(async () => {
      await Promise.all([a.app.savings.flush(), b.app.savings.flush()]);
      const totals = (await a.admin('GET', '/admin/usage?group_by=')).json().totals;
      expect(totals).toMatchObject({ tokens_spent: paid, tokens_saved: saved, requests });
    });
    console.log(`replay: ${requests} requests over ${uniques.length} unique; tokens paid ${paid} (sum over unique ${paid}), ledger tokens_saved ${saved}`);
  }, 60_000);
});
