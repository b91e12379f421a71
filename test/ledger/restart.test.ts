// Metrics live in one process and survive nothing; the ledger lives in the store and survives
// a restart: close the app (its savings are flushed on close), build a new one on the same
// store, and the usage report is unchanged while the new process's counters start from zero.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { StoreConnection } from '../../src/store/connection.js';
import { backends, cleanup } from '../helpers/backends.js';
import { startGateway } from '../helpers/gateway.js';
import { parseSamples, scrape, total } from '../metrics/scrape.js';

describe.each(backends)('ledger across a restart ($name)', (backend) => {
  let sim: Simulator;
  let store: StoreConnection;
  beforeAll(async () => {
    sim = await startSimulator();
    store = await backend.open();
  });
  afterAll(async () => {
    await cleanup(store);
    await sim.close();
  });

  it('the ledger survives a restart; the metrics do not', async () => {
    const first = await startGateway({ sim, store });
    const ml = await first.team('ml');
    await first.api('POST', '/api/v2/generate', ml, { model: 'gpt-5', prompt: 'before the restart' });
    await first.api('POST', '/api/v2/generate', ml, { model: 'dall-e-3', prompt: 'a lighthouse' });
    // Savings counted in memory (as a cache hit would) and not yet flushed: close must write them.
    first.app.savings.record('ml', 'gpt-5', 'hit', 2);
    first.app.savings.record('ml', 'gpt-5', 'coalesced', 2);
    expect(total(parseSamples(await scrape(first)), 'elumenta_gateway_tokens_spent_total')).toBe(sim.tokensCharged());
    await first.close();

    const second = await startGateway({ sim, store });
    try {
      const usage = (await second.admin('GET', '/admin/usage?group_by=team')).json();
      expect(usage.rows).toHaveLength(1);
      expect(usage.rows[0]).toMatchObject({
        team: 'ml',
        requests: 4,
        tokens_spent: sim.tokensCharged(),
        tokens_saved: 4,
        hits: 1,
        coalesced: 1,
        hit_ratio: 0.5,
      });
      const samples = parseSamples(await scrape(second));
      expect(samples.filter((s) => s.name === 'elumenta_gateway_tokens_spent_total')).toEqual([]);
      expect(samples.filter((s) => s.name === 'elumenta_gateway_requests_total')).toEqual([]);
      // Shared state is read from the store, so the new process reports it at once.
      expect(total(samples, 'elumenta_gateway_team_spent_tokens', { team: 'ml' })).toBe(sim.tokensCharged());
    } finally {
      await second.close();
    }
  });
});
