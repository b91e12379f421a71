// Reservations never leak: a replica killed mid-request leaves a reservation that its lease
// returns; a pending async job keeps its reservation until the reconciler (with no client
// polling) sees it end and settles it; outcome-unknown requests wait for the lease.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { StoreConnection } from '../../src/store/connection.js';
import { backends, cleanup, redisUrl } from '../helpers/backends.js';
import { BUILD_TIMEOUT_MS, buildCli, exitOf, startChildGateway } from '../helpers/child.js';
import { call, startGateway, type TestGateway } from '../helpers/gateway.js';

// The gateway runs as `npm start` runs it: the built CLI (dist/, compiled here if stale).
beforeAll(buildCli, BUILD_TIMEOUT_MS);

describe('leases', () => {
  let gw: TestGateway | undefined;
  let sim: Simulator | undefined;
  afterEach(async () => {
    await gw?.close();
    await sim?.close();
    gw = sim = undefined;
  });

  it.each(backends)('a replica killed mid-request: the budget comes back after the lease ($name)', async (backend) => {
    sim = await startSimulator();
    const conn: StoreConnection = await backend.open();
    const adminToken = randomBytes(24).toString('hex');
    const child = await startChildGateway({
      ELUMENTA_API_KEY: sim.apiKey,
      ELUMENTA_BASE_URL: sim.url,
      GATEWAY_ADMIN_TOKEN: adminToken,
      STORE_URL: conn.kind === 'sqlite' ? `sqlite:${conn.path}` : redisUrl,
      GATEWAY_REDIS_PREFIX: conn.kind === 'redis' ? conn.prefix : '',
    });
    const admin = { authorization: `Bearer ${adminToken}` };
    await call(child.url, 'POST', '/admin/teams', { headers: admin, body: { name: 'ml', budget: { tokens: 10 } } });
    const { key } = (await call(child.url, 'POST', '/admin/teams/ml/keys', { headers: admin, body: {} })).json();
    sim.injectFault('timeout', 1); // upstream holds the request: the replica dies with it in flight
    void call(child.url, 'POST', '/api/v2/generate', { key, body: { model: 'gpt-5', prompt: 'doomed' } }).catch(() => {});
    await vi.waitFor(() => expect(sim!.totalGenerateCalls()).toBe(1), { timeout: 5_000, interval: 10 });
    child.proc.kill('SIGKILL');
    await exitOf(child.proc);

    const clock = new ManualClock(Date.now());
    gw = await startGateway({ store: conn, sim, clock });
    expect(await gw.usage('ml')).toMatchObject({ reserved: 2, remaining: 8 });
    clock.advance(gw.app.services.config.quota.lease_ms + 1_000);
    expect(await gw.usage('ml')).toMatchObject({ reserved: 0, spent: 0, remaining: 10 });
    await gw.close();
    gw = undefined;
    await cleanup(conn);
  });

  it('a pending video job is settled by the reconciler with no client polling', async () => {
    const simClock = new ManualClock(Date.now());
    gw = await startGateway({ simOptions: { videoDelayMs: 90_000, now: () => simClock.now() } });
    const key = await gw.team('ml', { budget: { tokens: 1000, period: 'month' } });
    const started = await gw.api('POST', '/api/v2/generate', key, { model: 'kling-v2.1', prompt: 'a fox in snow' });
    expect(started.json().status).toBe('pending');
    expect(await gw.usage('ml')).toMatchObject({ spent: 0, reserved: 94 }); // kling-v2.1 is priced 26-94

    expect(await gw.app.reconciler.runOnce()).toBe(0); // still running upstream
    expect((await gw.usage('ml')).reserved).toBe(94);
    simClock.advance(90_000);
    expect(await gw.app.reconciler.runOnce()).toBe(1);
    expect(await gw.usage('ml')).toMatchObject({ spent: 26, reserved: 0 });
    expect(gw.sim.tokensCharged()).toBe(26);
    // A later poll by the client sees the result and charges nothing twice.
    const polled = await gw.api('GET', `/api/v2/generate/${started.json().id}`, key);
    expect(polled.json().status).toBe('completed');
    expect((await gw.usage('ml')).spent).toBe(26);
  });

  it('a timed-out request stays reserved as outcome-unknown until its lease ends', async () => {
    const clock = new ManualClock(Date.now());
    gw = await startGateway({ clock, config: { upstream: { timeouts: { text: { first_byte_ms: 200, total_ms: 300 } } } } });
    const key = await gw.team('ml', { budget: { tokens: 10, period: 'month' } });
    gw.sim.injectFault('timeout', 1);
    expect((await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: 'lost answer' })).status).toBe(504);
    expect(await gw.usage('ml')).toMatchObject({ reserved: 2 });
    const rows = await gw.app.services.quotaStore.ledger('2000-01-01', '2999-12-31');
    expect(rows.find((r) => r.team === 'ml')?.outcome_unknown).toBe(1);
    clock.advance(gw.app.services.config.quota.lease_ms + 1);
    expect(await gw.usage('ml')).toMatchObject({ reserved: 0, spent: 0 });
  });
});
