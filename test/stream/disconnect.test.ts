// A client that hangs up mid-stream never leaves a charge unaccounted: by default the gateway
// reads upstream to the end and settles from the end event; with finish_after_disconnect
// false it stops reading and the generation is settled from upstream (poll, then reconciler).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cacheKey, GENERATE_ROUTE } from '../../src/cache/cache-key.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { openStream } from './sse-client.js';


/** Opens a held stream, reads its first delta, hangs up, and waits until the gateway saw it. */
async function hangUpMidStream(gw: TestGateway, key: string, body: Record<string, unknown>) {
  gw.sim.holdStreams(true);
  const s = await openStream(gw.url, '/api/v2/generate/stream', key, body);
  await s.next();
  expect((await s.next()).type).toBe('content_delta');
  const live = gw.app.services.cache.flights.join(cacheKey(GENERATE_ROUTE, body, null))!.broadcast!;
  expect(live.connectedCount).toBe(1);
  s.abort();
  await vi.waitFor(() => expect(live.connectedCount).toBe(0));
}

describe('client disconnect', () => {
  let gw: TestGateway;
  afterEach(async () => {
    gw.sim.holdStreams(false);
    await gw.close();
  });

  it('keeps reading upstream to the end and settles from the end event', async () => {
    gw = await startGateway();
    const key = await gw.team('ml');
    const detached: string[] = [];
    gw.app.services.streams.onDetached((request) => detached.push(`${request.facts.team}:${request.facts.tokensSpent}`));
    const body = { model: 'claude-opus-4.5', prompt: 'hang up on me' };
    await hangUpMidStream(gw, key, body);
    expect(await gw.usage('ml')).toMatchObject({ spent: 0, reserved: 6 });
    gw.sim.releaseStreams();
    await gw.app.services.streams.drain();
    expect(gw.sim.tokensCharged()).toBe(6);
    expect(await gw.usage('ml')).toMatchObject({ spent: 6, reserved: 0 });
    expect(gw.sim.calls()['GET /api/v2/generate/:id'] ?? 0).toBe(0); // the end event settled it, no poll
    // fastify's onResponse does not run for a client that left: the detached listeners do, with the facts.
    expect(detached).toEqual(['ml:6']);
    const metrics = (await gw.admin('GET', '/metrics')).text.split('\n');
    const requests = metrics.filter((l) => l.startsWith('elumenta_gateway_requests_total{') && l.includes('team="ml"'));
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatch(/outcome="upstream".* 1$/);
  });

  it('with finish_after_disconnect false, stops reading and settles from upstream instead', async () => {
    gw = await startGateway({ config: { stream: { finish_after_disconnect: false } } });
    const key = await gw.team('ml');
    await hangUpMidStream(gw, key, { model: 'gpt-5', prompt: 'stop reading' });
    await gw.app.services.streams.drain();
    // Polled while upstream still ran: kept reserved as a pending job.
    expect(gw.sim.calls()['GET /api/v2/generate/:id']).toBe(1);
    expect(await gw.usage('ml')).toMatchObject({ spent: 0, reserved: 2 });
    gw.sim.releaseStreams();
    await vi.waitFor(() => expect(gw.sim.tokensCharged()).toBe(2));
    expect(await gw.app.reconciler.runOnce()).toBe(1);
    expect(await gw.usage('ml')).toMatchObject({ spent: 2, reserved: 0 });
  });

  it('closing the app (SIGTERM) waits for a stream whose client left, and settles it', async () => {
    gw = await startGateway();
    const key = await gw.team('ml');
    await hangUpMidStream(gw, key, { model: 'gpt-5', prompt: 'closing while reading' });
    const team = await gw.app.services.teams.get('ml');
    const closing = gw.app.close();
    gw.sim.releaseStreams();
    await closing;
    expect(gw.app.services.streams.active).toBe(0);
    expect(await gw.app.services.quota.view(team)).toMatchObject({ spent: 2, reserved: 0 });
  });
});
