// A stream leader killed mid-stream on another replica (a child process, SIGKILL): the follower
// relaying its events over Redis notices its lock expire without an end and finishes the
// stream for its client. Upstream finished the dead leader's generation: the follower settles
// that charge on the dead leader's reservation and sends the rest of its text. Upstream
// cancelled it: the follower makes its own call and continues the text without repeating it.
// Either way the follower's client gets the whole answer and simulator charges == the ledger.
// A leader that only stalled past its lock learns it lost the key (and stops mirroring).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisLockKey } from '../../src/cache/redis-flight-coordinator.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { StoreConnection } from '../../src/store/connection.js';
import { backends, cleanup } from '../helpers/backends.js';
import { BUILD_TIMEOUT_MS, buildCli, exitOf, type ChildGateway } from '../helpers/child.js';
import { LEADER_CACHE, startLeaderProcess } from '../helpers/leader-process.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { openStream, textOf } from './sse-client.js';

const STREAM = '/api/v2/generate/stream';
const POLL = 'GET /api/v2/generate/:id';
const redis = backends.find((b) => b.name === 'redis')!;

beforeAll(buildCli, BUILD_TIMEOUT_MS); // the leader runs the built CLI

describe('a stream leader dies mid-stream on another replica', () => {
  let sim: Simulator | undefined;
  let conn: StoreConnection | undefined;
  let child: ChildGateway | undefined;
  let followers: TestGateway[] = [];
  let dir: string | undefined;
  afterEach(async () => {
    sim?.holdStreams(false);
    if (child && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    for (const gw of followers) await gw.close();
    if (conn) await cleanup(conn);
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    sim = conn = child = dir = undefined;
    followers = [];
  });

  /** The leader as a process of its own on Redis, and `count` follower replicas in this process, each relaying one stream. */
  async function replicas(abortOnDisconnect: boolean, count = 1) {
    sim = await startSimulator({ abortOnDisconnect });
    conn = await redis.open();
    dir = mkdtempSync(join(tmpdir(), 'egw-leader-death-'));
    const cache = LEADER_CACHE;
    child = await startLeaderProcess(sim, conn, dir);
    for (let i = 0; i < count; i++) followers.push(await startGateway({ backend: 'redis', store: conn, sim, config: { cache } }));
    const key = await followers[0].team('ml');
    const body = { model: 'gpt-5', prompt: `a long answer, please ${randomBytes(4).toString('hex')}` };
    sim.holdStreams(true); // upstream holds each stream after its first delta
    const leader = await openStream(child.url, STREAM, key, body);
    expect((await leader.next()).type).toBe('generation_start');
    expect((await leader.next()).type).toBe('content_delta');
    const relays = [];
    for (const gw of followers) {
      const relayed = await openStream(gw.url, STREAM, key, body);
      expect(relayed.headers['x-gateway-cache']).toBe('coalesced');
      const start = await relayed.next();
      expect(start.type).toBe('generation_start');
      const first = await relayed.next();
      expect(first.type).toBe('content_delta');
      relays.push({ relayed, seen: [start, first] });
    }

    child.proc.kill('SIGKILL');
    await exitOf(child.proc);
    // A follower took the dead leader's lock and asks upstream about its generation.
    await vi.waitFor(() => expect(sim!.calls()[POLL] ?? 0).toBeGreaterThan(0), { timeout: 5_000, interval: 10 });
    sim.holdStreams(false); // upstream goes on with the dead leader's stream: finishes it, or cancels it (abortOnDisconnect)
    const streams = await Promise.all(relays.map(async ({ relayed, seen }) => [...seen, ...(await relayed.rest())]));
    return { body, events: streams[0], streams, gw: followers[0] };
  }

  /** The charges upstream made, the team's spent and the ledger's tokens_spent: all equal, nothing left reserved. */
  async function expectExactMoney(gw: TestGateway) {
    await vi.waitFor(async () => expect(await gw.usage('ml')).toMatchObject({ spent: sim!.tokensCharged(), reserved: 0 }), { timeout: 5_000 });
    const rows = await gw.app.services.quotaStore.ledger('2000-01-01', '2999-12-31');
    expect(rows.reduce((sum, row) => sum + row.tokens_spent, 0)).toBe(sim!.tokensCharged());
    expect(sim!.tokensCharged()).toBeGreaterThan(0);
  }

  it('a leader that stalled past its lock while a follower took over knows it lost the key (and stops mirroring)', async () => {
    conn = await redis.open();
    if (conn.kind !== 'redis') throw new Error('redis expected');
    followers.push(await startGateway({ backend: 'redis', store: conn, config: { cache: { lock_ms: 60, poll_ms: 20 } } }));
    const key = `stall-${randomBytes(4).toString('hex')}`;
    const leadership = await followers[0].app.services.cache.leadOrFollow(key);
    if (!('lock' in leadership) || !leadership.lock) throw new Error('expected to lead');
    const { lock } = leadership;
    expect(lock.lost()).toBe(false);
    await conn.redis.set(redisLockKey(conn.prefix, key), 'a follower that took over', 'PX', 10_000);
    await vi.waitFor(() => expect(lock.lost()).toBe(true), { timeout: 2_000, interval: 10 });
    lock();
    expect(await conn.redis.get(redisLockKey(conn.prefix, key))).toBe('a follower that took over'); // not released from under it
  });

  it('upstream finished the dead leader\'s generation: the follower settles it and sends the rest of its text', async () => {
    const { body, events, gw } = await replicas(false);
    expect(events.filter((e) => e.type === 'generation_start')).toHaveLength(1);
    expect(events.at(-2)).toMatchObject({ type: 'generation_end', tokens_spent: 0 }); // the follower paid nothing
    expect(events.at(-1)).toBe('[DONE]');
    const text = textOf(events);
    expect(text.split(' ').length).toBeGreaterThan(3);
    expect(sim!.callsFor(body)).toBe(1); // no second call: the dead leader's generation was adopted
    const hit = await gw.api('POST', '/api/v2/generate', await gw.team('ml'), body);
    expect(hit.headers['x-gateway-cache']).toBe('hit');
    expect(hit.json().result_text).toBe(text);
    await expectExactMoney(gw);
  });

  it('upstream cancelled it: one follower makes its own call and continues the text, on its replica and the third, without repeating it', async () => {
    const { body, streams, gw } = await replicas(true, 2);
    const hit = await gw.api('POST', '/api/v2/generate', await gw.team('ml'), body);
    expect(hit.headers['x-gateway-cache']).toBe('hit');
    for (const events of streams) {
      expect(events.filter((e) => e.type === 'generation_start')).toHaveLength(1);
      expect(events.at(-2).type).toBe('generation_end');
      expect(events.at(-1)).toBe('[DONE]');
      expect(textOf(events)).toBe(hit.json().result_text); // whole, each word once
    }
    // The follower that took over paid for its call (its end says so); the other relayed it, free.
    const charges = streams.map((events) => events.at(-2).tokens_spent).sort();
    expect(charges[0]).toBe(0);
    expect(charges[1]).toBeGreaterThan(0);
    expect(sim!.callsFor(body)).toBe(2);
    expect(sim!.tokensCharged()).toBe(charges[1]);
    await expectExactMoney(gw);
  });
});
