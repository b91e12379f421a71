// A stream upstream cut after its generation_start (the generation finished and was charged)
// whose poll then fails: the id is known, so the charge must still reach the ledger once
// upstream answers polls again (as a pending job the reconciler ends), never be left to a lease.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { openStream } from './sse-client.js';

/** Forwards everything to the simulator, except generation polls while `failPolls` (500). */
async function pollFaultProxy(sim: Simulator): Promise<{ url: string; failPolls: boolean; close(): Promise<void> }> {
  const state = { failPolls: false };
  const server: Server = createServer((req, res) => {
    if (state.failPolls && req.method === 'GET' && /^\/api\/v2\/generate\/[^/]+$/.test(req.url ?? '')) {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"provider_error","message":"down","details":{}}');
      return;
    }
    const target = new URL(sim.url);
    const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      up.on('close', () => up.complete || res.destroy()); // a cut upstream is cut here too
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  });
}

describe('a broken stream whose poll fails', () => {
  let gw: TestGateway;
  let sim: Simulator;
  let proxy: Awaited<ReturnType<typeof pollFaultProxy>>;
  afterEach(async () => {
    await gw.close();
    await proxy.close();
    await sim.close();
  });

  it('is settled with what upstream charged once polls work again', async () => {
    sim = await startSimulator();
    proxy = await pollFaultProxy(sim);
    gw = await startGateway({ sim, config: { upstream: { base_url: proxy.url } } });
    const key = await gw.team('ml');
    proxy.failPolls = true;
    const s = await openStream(gw.url, '/api/v2/generate/stream', key, { model: 'claude-opus-4.5', prompt: 'z [stream-break]' });
    await s.rest().catch(() => []);
    await gw.app.services.streams.drain();
    expect(gw.sim.tokensCharged()).toBe(6); // upstream finished and charged it
    proxy.failPolls = false;
    await gw.app.reconciler.runOnce();
    // On main: spent 0, the 6 tokens left reserved as outcome-unknown until the lease returns them.
    expect(await gw.usage('ml')).toMatchObject({ spent: 6, reserved: 0 });
  });
});
