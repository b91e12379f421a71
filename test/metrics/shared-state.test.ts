// Gauges of shared state are read from the store at scrape time, once per metrics.state_cache_ms:
// scrapes in between get the same values; a failed read keeps the last ones and is counted;
// a deleted team's series disappear.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { parseSamples, scrape, total } from './scrape.js';

describe('store-backed gauges', () => {
  let gw: TestGateway;
  const clock = new ManualClock(Date.UTC(2026, 0, 15, 12));
  beforeAll(async () => {
    gw = await startGateway({ clock, config: { metrics: { state_cache_ms: 5_000 } } });
  });
  afterAll(async () => gw.close());

  const spent = async (team: string) => total(parseSamples(await scrape(gw)), 'elumenta_gateway_team_spent_tokens', { team });

  it('are read at most once per state_cache_ms', async () => {
    const ml = await gw.team('ml');
    expect(await spent('ml')).toBe(0);
    await gw.api('POST', '/api/v2/generate', ml, { model: 'gpt-5', prompt: 'x' });
    expect(await spent('ml')).toBe(0); // the same read, 0 ms later
    clock.advance(4_999);
    expect(await spent('ml')).toBe(0);
    clock.advance(1);
    expect(await spent('ml')).toBe(2);
  });

  it('keep the last values when the store fails, and count the error', async () => {
    const teams = gw.app.services.teams;
    const list = teams.list;
    teams.list = async () => {
      throw new Error('store unreachable (test)');
    };
    try {
      clock.advance(5_000);
      const samples = parseSamples(await scrape(gw));
      expect(total(samples, 'elumenta_gateway_team_spent_tokens', { team: 'ml' })).toBe(2);
      // The failed read happens while this scrape is collected: the next one shows it counted.
      expect(total(parseSamples(await scrape(gw)), 'elumenta_gateway_store_errors_total')).toBe(1);
    } finally {
      teams.list = list;
    }
  });

  it('drop a deleted team', async () => {
    await gw.team('gone');
    clock.advance(5_000);
    expect(parseSamples(await scrape(gw)).some((s) => s.labels.team === 'gone')).toBe(true);
    expect((await gw.admin('DELETE', '/admin/teams/gone')).status).toBe(204);
    clock.advance(5_000);
    const samples = parseSamples(await scrape(gw));
    expect(samples.some((s) => s.name.startsWith('elumenta_gateway_team_') && s.labels.team === 'gone')).toBe(false);
  });
});
