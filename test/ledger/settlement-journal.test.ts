// No charge is lost when the store fails while requests wait on upstream: their settlements
// go to the replica's journal (fsynced before the answer), and are replayed once the store
// answers. After recovery: simulator charges == ledger tokens_spent == the team's spent, and
// spent stays within the budget (the outage is far shorter than the lease: the README's bound is 0);
// with streamed and plain twins on two replicas, every shared answer is a saving in the ledger too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { reservationId } from '../../src/quota/reservation-id.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { openStore, type StoreConnection } from '../../src/store/connection.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { OwnRedis } from '../helpers/own-redis.js';
import { unique } from '../cache/helpers.js';
import { openStream } from '../stream/sse-client.js';

const BUDGET = 160;
const IN_FLIGHT = 10;
/** Upstream holds each generate this long: the store fails while the requests wait on it. */
const LATENCY_MS = 2_500;
const config = { quota: { estimates: { 'gpt-5': 15 } } }; // 10 in flight + one more fit the budget

async function ledgerSpent(gw: TestGateway): Promise<number> {
  const rows = (await gw.admin('GET', '/admin/usage?group_by=team')).json().rows as Array<{ team: string; tokens_spent: number }>;
  return rows.find((r) => r.team === 'ml')?.tokens_spent ?? 0;
}

/** Sends `count` distinct requests over the gateways in turn; resolves once the simulator holds them all. */
function sendWhileHeld(sim: Simulator, gateways: Array<{ gw: TestGateway; key: string }>, count: number) {
  const before = sim.totalGenerateCalls();
  const answers = Promise.all(
    Array.from({ length: count }, (_, i) => {
      const { gw, key } = gateways[i % gateways.length];
      return gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: unique('in flight') });
    }),
  );
  const arrived = vi.waitFor(() => expect(sim.totalGenerateCalls() - before).toBe(count), { timeout: LATENCY_MS, interval: 5 });
  return { answers, arrived };
}

describe('the settlement journal', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('Redis stops while 10 requests on two replicas wait on upstream: every charge reaches the ledger', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'egw-journal-redis-'));
    dirs.push(dir);
    const redis = await OwnRedis.start({ dir });
    const sim = await startSimulator({ latencyMs: LATENCY_MS });
    const stores: StoreConnection[] = [];
    const gateways: TestGateway[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        stores.push(await openStore(redis.url, { redisPrefix: 'egw-test:journal:' }));
        gateways.push(await startGateway({ backend: 'redis', store: stores[i], sim, config }));
      }
      const [one, two] = gateways;
      const key = await one.team('ml', { budget: { tokens: BUDGET, period: 'month' } });
      const { answers, arrived } = sendWhileHeld(sim, [{ gw: one, key }, { gw: two, key }], IN_FLIGHT);
      await arrived;
      await redis.stop();
      for (const answer of await answers) {
        expect(answer.status).toBe(200); // upstream answered (and charged): the client gets its answer
        expect(answer.json().tokens_spent).toBeGreaterThan(0);
      }
      const journaled = gateways.map((gw) => gw.app.services.journal.size);
      expect(journaled[0] + journaled[1]).toBe(IN_FLIGHT);

      await redis.restart();
      // The next reservation on a replica replays its journal first; the rest replays on its own within a second.
      await vi.waitFor(async () => expect((await one.api('GET', '/api/v2/balance', key)).status).toBe(200), { timeout: 10_000 });
      const after = await one.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: unique('after') });
      expect(after.status).toBe(200);
      expect(one.app.services.journal.size).toBe(0);
      await vi.waitFor(() => expect(two.app.services.journal.size).toBe(0), { timeout: 10_000 });

      const charged = sim.tokensCharged();
      expect(charged).toBeGreaterThan(0);
      expect(await ledgerSpent(one)).toBe(charged);
      const usage = await one.usage('ml');
      expect(usage).toMatchObject({ spent: charged, reserved: 0 });
      expect(usage.spent).toBeLessThanOrEqual(BUDGET);
    } finally {
      for (const gw of gateways) await gw.close();
      for (const store of stores) await store.close();
      await redis.stop();
      await sim.close();
    }
  }, 60_000);

  it('Redis stops while a streamed leader and its plain and streamed twins on two replicas wait on upstream: charges, ledger, spent and savings agree', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'egw-journal-twins-'));
    dirs.push(dir);
    const redis = await OwnRedis.start({ dir });
    const sim = await startSimulator();
    // A follower waits at most the model's total timeout plus lock_ms for a leader it cannot hear.
    const twinsConfig = { cache: { poll_ms: 20, lock_ms: 500 }, upstream: { timeouts: { text: { first_byte_ms: 5_000, total_ms: 5_000 } } } };
    const stores: StoreConnection[] = [];
    const gateways: TestGateway[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        stores.push(await openStore(redis.url, { redisPrefix: 'egw-test:journal-twins:' }));
        gateways.push(await startGateway({ backend: 'redis', store: stores[i], sim, config: twinsConfig }));
      }
      const [one, two] = gateways;
      const key = await one.team('ml', { budget: { tokens: BUDGET, period: 'month' } });
      const body = { model: 'gpt-5', prompt: unique('streamed twins in an outage') };

      // The leader streams on one (held upstream after its first delta); twins join it on both replicas.
      sim.holdStreams(true);
      const leader = await openStream(one.url, '/api/v2/generate/stream', key, body);
      await leader.next();
      const plainHere = one.api('POST', '/api/v2/generate', key, body);
      const plainThere = two.api('POST', '/api/v2/generate', key, body);
      await vi.waitFor(() => expect(two.app.services.cache.flights.size).toBe(1), { timeout: 5_000, interval: 5 });
      const streamThere = await openStream(two.url, '/api/v2/generate', key, { ...body, stream: true });
      expect(sim.callsFor(body)).toBe(1);

      await redis.stop();
      sim.holdStreams(false);
      sim.releaseStreams();
      // A stream the outage cuts ends without its end event (as for an upstream failure): no events to count.
      type StreamEvent = { type?: string; tokens_spent?: number };
      const cut = (events: Promise<StreamEvent[]>) => events.catch((): StreamEvent[] => []);
      const streams = [await cut(leader.rest()), await cut(streamThere.rest())];
      const plains = await Promise.all([plainHere, plainThere]);

      await redis.restart();
      await vi.waitFor(() => expect(one.app.services.journal.size + two.app.services.journal.size).toBe(0), { timeout: 10_000 });
      const calls = sim.callsFor(body);
      const charged = sim.tokensCharged();
      expect(charged).toBeGreaterThan(0);
      expect(await ledgerSpent(one)).toBe(charged);
      expect(await one.usage('ml')).toMatchObject({ spent: charged, reserved: 0 });

      // Every answer the outage let through either paid (tokens_spent > 0, counted above) or was
      // shared (0): each shared answer is a saving of the call's price in the ledger.
      const ends = streams.map((events) => events.find((e) => e?.type === 'generation_end'));
      const spentByAnswer = [
        ...ends.flatMap((e) => (e ? [e.tokens_spent ?? 0] : [])),
        ...plains.filter((p) => p.status === 200).map((p) => p.json().tokens_spent as number),
      ];
      expect(ends[0]?.tokens_spent).toBeGreaterThan(0); // the leader paid
      const paidAnswers = spentByAnswer.filter((t) => t > 0).length;
      expect(paidAnswers).toBe(calls); // one answer per upstream call carries its cost
      const shared = spentByAnswer.filter((t) => t === 0).length;
      const price = charged / calls;
      await vi.waitFor(async () => {
        await Promise.all(gateways.map((gw) => gw.app.savings.flush()));
        const totals = (await one.admin('GET', '/admin/usage?group_by=')).json().totals;
        expect(totals).toMatchObject({ tokens_spent: charged, tokens_saved: shared * price });
      }, { timeout: 10_000 });
      // A twin the outage cut off from its leader is refused or cut, never charged without a record.
      for (const p of plains) expect([200, 503]).toContain(p.status);
      console.log(`streamed twins in an outage: ${calls} upstream call(s), ${charged} tokens charged == ledger == spent; ` +
        `${shared} shared answer(s), ${shared * price} tokens saved; plain twins ${plains.map((p) => p.status).join(', ')}, ` +
        `streams ${ends.map((e) => (e ? 'ended' : 'cut')).join(', ')}`);
    } finally {
      sim.holdStreams(false);
      for (const gw of gateways) await gw.close();
      for (const store of stores) await store.close();
      await redis.stop();
      await sim.close();
    }
  }, 60_000);

  it('Redis stops while a video job is submitted: its pending record is journaled, replayed, and the job settled when it ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'egw-journal-pending-'));
    dirs.push(dir);
    const redis = await OwnRedis.start({ dir });
    const simClock = new ManualClock(Date.now());
    const sim = await startSimulator({ latencyMs: LATENCY_MS, videoDelayMs: 90_000, now: () => simClock.now() });
    const store = await openStore(redis.url, { redisPrefix: 'egw-test:journal-pending:' });
    const gw = await startGateway({ backend: 'redis', store, sim });
    try {
      const key = await gw.team('ml', { budget: { tokens: 1000, period: 'month' } });
      const body = { model: 'kling-v2.1', prompt: unique('a fox in snow') };
      const answer = gw.api('POST', '/api/v2/generate', key, body);
      await vi.waitFor(() => expect(sim.callsFor(body)).toBe(1), { timeout: LATENCY_MS, interval: 5 });
      await redis.stop();
      const started = await answer;
      expect(started.status).toBe(200);
      expect(started.json().status).toBe('pending');
      // The grant, the kept reservation and the job for the reconciler could not be written: journaled.
      expect(gw.app.services.journal.size).toBe(1);

      await redis.restart();
      await vi.waitFor(() => expect(gw.app.services.journal.size).toBe(0), { timeout: 10_000 });
      expect(await gw.app.services.jobs.get(String(started.json().id))).not.toBeNull();
      expect(await gw.usage('ml')).toMatchObject({ spent: 0, reserved: 94 }); // kling-v2.1 is priced 26-94

      simClock.advance(90_000); // the job ends upstream; no client polls: the reconciler settles it
      expect(await gw.app.reconciler.runOnce()).toBe(1);
      const charged = sim.tokensCharged();
      expect(charged).toBe(26);
      expect(await ledgerSpent(gw)).toBe(charged);
      expect(await gw.usage('ml')).toMatchObject({ spent: charged, reserved: 0 });
      // The team may poll its job (its grant was replayed too), and nothing is charged twice.
      const polled = await gw.api('GET', `/api/v2/generate/${started.json().id}`, key);
      expect(polled.status).toBe(200);
      expect(polled.json().status).toBe('completed');
      expect((await gw.usage('ml')).spent).toBe(charged);
    } finally {
      await gw.close();
      await store.close();
      await redis.stop();
      await sim.close();
    }
  }, 60_000);

  it('the SQLite file is full while requests wait on upstream: replayed once it has room', async () => {
    const gw = await startGateway({ simOptions: { latencyMs: LATENCY_MS }, config });
    try {
      const key = await gw.team('ml', { budget: { tokens: BUDGET, period: 'month' } });
      expect((await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: unique('before') })).status).toBe(200);
      const { answers, arrived } = sendWhileHeld(gw.sim, [{ gw, key }], IN_FLIGHT);
      await arrived;

      // A real "disk full": SQLite refuses to grow the file past max_page_count (SQLITE_FULL).
      // Capped at its size now, then filled with settled-id rows of the same team and of the
      // size a settlement writes, later than every id in flight: each settlement would need a new page.
      const conn = gw.store;
      if (conn.kind !== 'sqlite') throw new Error('sqlite expected');
      const { db } = conn;
      db.pragma(`max_page_count = ${Number(db.pragma('page_count', { simple: true }))}`);
      const filler = db.prepare(`INSERT INTO settled_reservations (team, id, settled_at) VALUES ('ml', ?, ?)`);
      let full: unknown = null;
      for (let i = 0; !full && i < 1_000_000; i++) {
        try {
          filler.run(reservationId(Date.now() + 60_000), Date.now());
        } catch (err) {
          full = err;
        }
      }
      expect((full as { code?: string }).code).toBe('SQLITE_FULL');

      for (const answer of await answers) expect(answer.status).toBe(200);
      expect(gw.app.services.journal.size).toBe(IN_FLIGHT);
      expect(gw.app.services.journal.journaled).toBe(IN_FLIGHT);

      db.pragma('max_page_count = 1073741823'); // room again
      await vi.waitFor(() => expect(gw.app.services.journal.size).toBe(0), { timeout: 10_000 });
      const charged = gw.sim.tokensCharged();
      expect(await ledgerSpent(gw)).toBe(charged);
      const usage = await gw.usage('ml');
      expect(usage).toMatchObject({ spent: charged, reserved: 0 });
      expect(usage.spent).toBeLessThanOrEqual(BUDGET);
    } finally {
      await gw.close();
    }
  }, 60_000);
});
