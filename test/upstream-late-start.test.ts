// Regression: a gateway started before its upstream (`npm start` before the simulator, or the
// upstream briefly down) retried the catalog only after catalog_refresh_ms (10 minutes), so it
// served without a catalog. Catalog and balance now retry 1 s, 2 s, 4 s ... until they first
// load. The timers are a manual clock: nothing here waits on the wall clock.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { ManualClock } from '../src/clock.js';
import { parseConfig } from '../src/config/load.js';
import { startSimulator, type Simulator } from '../src/simulator/index.js';
import { backends, cleanup } from './helpers/backends.js';

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const toClose: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
});

describe('upstream late at start', () => {
  it('a gateway started before the upstream has the catalog once the upstream is up', async () => {
    const port = await freePort();
    const store = await backends[0].open();
    toClose.push(() => cleanup(store));
    const clock = new ManualClock();
    const config = parseConfig({
      upstream: { base_url: `http://127.0.0.1:${port}`, api_key: 'nb_sim_demo_key', retry: { base_delay_ms: 1, max_delay_ms: 5 } },
      admin: { token: 'a'.repeat(32) },
      log: { level: 'silent' },
    });
    const app = await buildApp({ config, store, clock, timers: clock });
    toClose.push(() => app.close());
    await app.ready(); // starts the background refreshes; the upstream is not there
    expect(clock.pending()).toEqual([0, 0]);
    clock.advance(0); // their first runs

    // The first catalog and balance reads failed: each is retried in 1 s, not in 10 (or 1) minutes.
    await expect.poll(() => clock.pending()).toEqual([1_000, 1_000]);
    expect(app.services.catalog.size).toBe(0);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    clock.advance(1_000);
    await expect.poll(() => clock.pending()).toEqual([2_000, 2_000]); // still down: backing off
    clock.advance(2_000);
    await expect.poll(() => clock.pending()).toEqual([4_000, 4_000]);

    const sim: Simulator = await startSimulator({ port });
    toClose.push(() => sim.close());
    clock.advance(4_000);
    await expect.poll(() => app.services.catalog.size).toBeGreaterThan(0);
    expect(app.services.catalog.slugs()).toContain('gpt-5');
    await expect.poll(() => app.services.balance.known).toBe(true);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    // Loaded: back to the configured intervals (balance 60 s, catalog 10 minutes).
    await expect.poll(() => clock.pending()).toEqual([60_000, 600_000]);
    expect(sim.calls()['GET /api/v2/models']).toBe(1);
  });
});
