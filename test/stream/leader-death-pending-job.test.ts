// A stream leader killed mid-stream on another replica, whose generation's outcome the follower
// taking over cannot learn in time: upstream answers its polls with 500s, or the generation
// still runs past the model's timeout. Its id is known, so its charge must reach the ledger
// later (a pending job the reconciler ends), never be left to a lease. Unpollable, the follower
// does not pay for a second call: it cuts the stream, and a retry once the job ended is a free
// hit. Still running, it makes its own call as before. Simulator charges == ledger == spent.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { StoreConnection } from '../../src/store/connection.js';
import { backends, cleanup } from '../helpers/backends.js';
import { BUILD_TIMEOUT_MS, buildCli, exitOf, type ChildGateway } from '../helpers/child.js';
import { LEADER_CACHE, startLeaderProcess } from '../helpers/leader-process.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { pollFaultProxy, type PollFaultProxy } from '../helpers/poll-fault-proxy.js';
import { openStream, textOf } from './sse-client.js';

const STREAM = '/api/v2/generate/stream';
const redis = backends.find((b) => b.name === 'redis')!;

beforeAll(buildCli, BUILD_TIMEOUT_MS); // the leader runs the built CLI

describe('a stream leader dies mid-stream and its generation\'s outcome is not known in time', () => {
  let sim: Simulator | undefined;
  let proxy: PollFaultProxy | undefined;
  let conn: StoreConnection | undefined;
  let child: ChildGateway | undefined;
  let follower: TestGateway | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    sim?.holdStreams(false);
    if (child && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    await follower?.close();
    if (conn) await cleanup(conn);
    await proxy?.close();
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    sim = proxy = conn = child = follower = dir = undefined;
  });

  /**
   * The leader as a process of its own on Redis, held by upstream after its first delta, and a
   * follower in this process (reaching upstream through a proxy that can fail polls) relaying
   * its stream; then the leader is killed.
   */
  async function leaderDies(config: ConfigInput = {}) {
    sim = await startSimulator();
    proxy = await pollFaultProxy(sim);
    conn = await redis.open();
    dir = mkdtempSync(join(tmpdir(), 'egw-leader-death-job-'));
    const cache = LEADER_CACHE;
    child = await startLeaderProcess(sim, conn, dir);
    follower = await startGateway({ backend: 'redis', store: conn, sim, config: { ...config, cache, upstream: { ...config.upstream, base_url: proxy.url } } });
    const gw = follower;
    const key = await gw.team('ml');
    const body = { model: 'gpt-5', prompt: `a long answer, please ${randomBytes(4).toString('hex')}` };
    sim.holdStreams(true); // upstream holds each stream after its first delta
    const leader = await openStream(child.url, STREAM, key, body);
    expect((await leader.next()).type).toBe('generation_start');
    expect((await leader.next()).type).toBe('content_delta');
    const relayed = await openStream(gw.url, STREAM, key, body);
    expect(relayed.headers['x-gateway-cache']).toBe('coalesced');
    const seen = [await relayed.next(), await relayed.next()];
    expect(seen.map((e) => e.type)).toEqual(['generation_start', 'content_delta']);
    return { gw, key, body, relayed, seen, kill: () => (child!.proc.kill('SIGKILL'), exitOf(child!.proc)) };
  }

  /** The charges upstream made, the team's spent and the ledger's tokens_spent: all equal, nothing left reserved. */
  async function expectExactMoney(gw: TestGateway) {
    expect(await gw.usage('ml')).toMatchObject({ spent: sim!.tokensCharged(), reserved: 0 });
    const rows = await gw.app.services.quotaStore.ledger('2000-01-01', '2999-12-31');
    expect(rows.reduce((sum, row) => sum + row.tokens_spent, 0)).toBe(sim!.tokensCharged());
    expect(sim!.tokensCharged()).toBeGreaterThan(0);
  }

  it('its polls fail: the follower keeps it as a pending job and cuts the stream, paying nothing; the reconciler settles it later', async () => {
    const { gw, key, body, relayed, seen, kill } = await leaderDies();
    proxy!.failPolls = true;
    await kill();
    const events = [...seen, ...(await relayed.rest().catch(() => []))];
    // Cut, as upstream cuts a stream: no end, and no second paid call of the request.
    expect(events.some((e) => e?.type === 'generation_end')).toBe(false);
    expect(proxy!.failed).toBeGreaterThan(0);
    expect(sim!.callsFor(body)).toBe(1);
    const [job] = (await gw.app.services.jobs.list(10, null)).jobs;
    expect(job).toMatchObject({ generation_id: String(seen[0].id), reservation: { team: 'ml' } });

    sim!.holdStreams(false); // upstream goes on with the dead leader's generation and charges it
    await vi.waitFor(() => expect(sim!.tokensCharged()).toBeGreaterThan(0), { timeout: 5_000, interval: 10 });
    expect(await gw.app.reconciler.runOnce()).toBe(0); // polls still fail: the job is kept
    proxy!.failPolls = false;
    expect(await gw.app.reconciler.runOnce()).toBe(1);
    expect(await gw.app.reconciler.runOnce()).toBe(0); // settled once
    await expectExactMoney(gw);
    // The job's result was cached under the request's key: the client's retry is free.
    const retry = await gw.api('POST', '/api/v2/generate', key, body);
    expect(retry.headers['x-gateway-cache']).toBe('hit');
    expect(retry.json().result_text.startsWith(textOf(seen))).toBe(true);
    expect(sim!.callsFor(body)).toBe(1);
  });

  it('it still runs past the model\'s timeout: kept as a pending job, the follower makes its own call, both charges reach the ledger', async () => {
    const timeouts = { first_byte_ms: 2_000, total_ms: 2_000 }; // the follower waits 2 s + lock_ms for it
    const { gw, body, relayed, seen, kill } = await leaderDies({ upstream: { timeouts: { text: timeouts } } });
    await kill();
    // Polled as pending until the wait bound, then kept as a job before the follower's own call.
    await vi.waitFor(async () => expect((await gw.app.services.jobs.list(10, null)).jobs).toHaveLength(1), { timeout: 10_000, interval: 20 });
    const [job] = (await gw.app.services.jobs.list(10, null)).jobs;
    expect(job).toMatchObject({ generation_id: String(seen[0].id), reservation: { team: 'ml' } });
    sim!.holdStreams(false); // both the dead leader's generation and the follower's call go on
    const events = [...seen, ...(await relayed.rest())];
    expect(events.at(-2)).toMatchObject({ type: 'generation_end' });
    expect(events.at(-2).tokens_spent).toBeGreaterThan(0); // the follower paid for its call
    expect(sim!.callsFor(body)).toBe(2);
    await vi.waitFor(async () => expect(await gw.app.reconciler.runOnce()).toBe(1), { timeout: 5_000, interval: 20 });
    await expectExactMoney(gw);
  });
});
