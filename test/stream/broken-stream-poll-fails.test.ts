// A stream upstream cut after its generation_start (the generation finished and was charged)
// whose poll then fails: the id is known, so the charge must still reach the ledger once
// upstream answers polls again (as a pending job the reconciler ends), never be left to a lease.
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { backends } from '../helpers/backends.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { pollFaultProxy, type PollFaultProxy } from '../helpers/poll-fault-proxy.js';
import { openStream } from './sse-client.js';

describe.each(backends)('a broken stream whose poll fails, on $name', ({ name }) => {
  let gw: TestGateway;
  let sim: Simulator;
  let proxy: PollFaultProxy;
  afterEach(async () => {
    await gw.close();
    await proxy.close();
    await sim.close();
  });

  it('is settled with what upstream charged once polls work again', async () => {
    sim = await startSimulator();
    proxy = await pollFaultProxy(sim);
    gw = await startGateway({ backend: name, sim, config: { upstream: { base_url: proxy.url } } });
    const key = await gw.team('ml');
    proxy.failPolls = true;
    const body = { model: 'claude-opus-4.5', prompt: 'z [stream-break]' };
    const s = await openStream(gw.url, '/api/v2/generate/stream', key, body);
    await s.rest().catch(() => []);
    await gw.app.services.streams.drain();
    expect(gw.sim.tokensCharged()).toBe(6); // upstream finished and charged it
    expect(proxy.failed).toBeGreaterThan(0);
    // Kept as a pending job: its estimate stays reserved while polls still fail.
    const [job] = (await gw.app.services.jobs.list(10, null)).jobs;
    expect(job).toMatchObject({ reservation: { team: 'ml' } });
    expect(await gw.app.reconciler.runOnce()).toBe(0);
    expect(await gw.usage('ml')).toMatchObject({ spent: 0, reserved: job.reservation.amount });

    proxy.failPolls = false;
    expect(await gw.app.reconciler.runOnce()).toBe(1);
    // On main: spent 0, the 6 tokens left reserved as outcome-unknown until the lease returns them.
    expect(await gw.usage('ml')).toMatchObject({ spent: 6, reserved: 0 });
    // Settled once: the job is gone, a second pass finds nothing, the ledger says what upstream charged.
    expect((await gw.app.services.jobs.list(10, null)).jobs).toEqual([]);
    expect(await gw.app.reconciler.runOnce()).toBe(0);
    const rows = await gw.app.services.quotaStore.ledger('2000-01-01', '2999-12-31');
    expect(rows.reduce((sum, row) => sum + row.tokens_spent, 0)).toBe(gw.sim.tokensCharged());
    expect(await gw.usage('ml')).toMatchObject({ spent: gw.sim.tokensCharged(), reserved: 0 });
    // The job's result was cached under the request's key: a retry is free.
    const retry = await gw.api('POST', '/api/v2/generate', key, body);
    expect(retry.headers['x-gateway-cache']).toBe('hit');
    expect(gw.sim.tokensCharged()).toBe(6);
  });
});
