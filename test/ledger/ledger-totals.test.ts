// After a mixed run (completed, failed, upstream errors, an outcome-unknown drop, budget and
// rate-limit refusals, async video jobs settled by a poll and by the reconciler, and a cache
// hit once the cache exists) the ledger, the metrics and the simulator's charges agree.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { parseSamples, scrape, sumBy, total } from '../metrics/scrape.js';

const GEN = '/api/v2/generate';
type Row = Record<string, number> & { team: string };

describe('ledger totals after a mixed run', () => {
  let gw: TestGateway;
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    gw = await startGateway({
      clock,
      // Upstream takes a moment, so identical requests sent together can be coalesced.
      simOptions: { videoDelayMs: 60_000, now: () => clock.now(), latencyMs: 30 },
      config: { metrics: { state_cache_ms: 0 } },
    });
  });
  afterAll(async () => gw.close());

  it('equal the simulator\'s charges, per team and in total', async () => {
    const ml = await gw.team('ml');
    const web = await gw.team('web');
    const tiny = await gw.team('tiny', { budget: { tokens: 1, period: 'day' } });
    const limited = await gw.team('limited', { rate_limit: { requests_per_minute: 1 } });
    // What the cache answered, from the headers a client sees (none before the cache exists).
    const saved = { hit: 0, coalesced: 0, tokens: 0 };
    const ok = async (key: string, body: object, status = 200) => {
      const res = await gw.api('POST', GEN, key, body);
      expect(res.status, res.text).toBe(status);
      const cache = res.headers['x-gateway-cache'];
      if (cache === 'hit' || cache === 'coalesced') {
        saved[cache]++;
        saved.tokens += Number(res.headers['x-gateway-tokens-saved']);
      }
      return res;
    };

    // ml: completed, failed, an upstream 500, a dropped connection (outcome unknown)
    await ok(ml, { model: 'gpt-5', prompt: 'first' });
    await ok(ml, { model: 'dall-e-3', prompt: 'a red fox' });
    await ok(ml, { model: 'gpt-5', prompt: 'this one [fail]' });
    gw.sim.injectFault(500);
    await ok(ml, { model: 'gpt-5', prompt: 'upstream breaks' }, 500);
    gw.sim.injectFault('drop');
    expect((await gw.api('POST', GEN, ml, { model: 'gpt-5', prompt: 'dropped' })).status).toBeGreaterThanOrEqual(500);
    // the same request again (a hit once the cache is in), and three identical ones at once
    await ok(ml, { model: 'gpt-5', prompt: 'first' });
    await Promise.all([1, 2, 3].map(() => ok(ml, { model: 'gpt-5', prompt: 'all at once' })));

    // refusals: budget and rate limit
    await ok(tiny, { model: 'dall-e-3', prompt: 'too dear' }, 402);
    await ok(limited, { model: 'gpt-5', prompt: 'one' });
    await ok(limited, { model: 'gpt-5', prompt: 'two' }, 429);

    // web: a completed request and two videos, settled by a poll and by the reconciler
    await ok(web, { model: 'gpt-5', prompt: 'hello' });
    const polled = (await ok(web, { model: 'kling-v2.1', prompt: 'a cat surfing' })).json();
    await ok(web, { model: 'kling-v2.1', prompt: 'a dog skiing' });
    expect(polled.status).toBe('pending');
    const pendingSamples = parseSamples(await scrape(gw));
    expect(total(pendingSamples, 'elumenta_gateway_quota_reservations_outstanding')).toBe(3); // 2 videos + the drop
    clock.advance(60_000);
    expect((await gw.api('GET', `${GEN}/${polled.id}`, web)).json().status).toBe('completed');
    expect(await gw.app.reconciler.runOnce()).toBe(1);
    await gw.app.savings.flush();

    const usage = (await gw.admin('GET', '/admin/usage?group_by=team')).json();
    const rows = Object.fromEntries((usage.rows as Row[]).map((r) => [r.team, r]));
    const charged = gw.sim.tokensCharged();
    expect(usage.totals.tokens_spent).toBe(charged);
    expect(rows.ml.requests).toBe(9);
    expect(rows.ml.failures).toBe(2);
    expect(rows.ml.outcome_unknown).toBe(1);
    expect(rows.ml.hits).toBe(saved.hit);
    expect(rows.ml.coalesced).toBe(saved.coalesced);
    expect(rows.ml.tokens_saved).toBe(saved.tokens);
    expect(rows.tiny).toMatchObject({ requests: 1, rejections: 1, tokens_spent: 0 });
    expect(rows.limited).toMatchObject({ requests: 2, rejections: 1, tokens_spent: 2 });
    expect(rows.web.requests).toBe(3);
    expect(rows.web.tokens_spent).toBeGreaterThan(2); // the videos were charged

    // The metrics agree with the ledger, team by team.
    const samples = parseSamples(await scrape(gw));
    const spent = sumBy(samples, 'elumenta_gateway_tokens_spent_total', 'team');
    for (const team of ['ml', 'web', 'limited']) expect(spent[team]).toBe(rows[team].tokens_spent);
    expect(spent.tiny).toBeUndefined();
    expect(total(samples, 'elumenta_gateway_tokens_spent_total')).toBe(charged);
    expect(total(samples, 'elumenta_gateway_tokens_saved_total')).toBe(usage.totals.tokens_saved);
    expect(total(samples, 'elumenta_gateway_quota_reservations_outstanding')).toBe(1); // the drop keeps its lease
    const outcomes = sumBy(samples, 'elumenta_gateway_requests_total', 'outcome');
    expect(outcomes).toMatchObject({ quota_rejected: 1, rate_limited: 1 });
    expect(outcomes.hit ?? 0).toBe(saved.hit);
    expect(outcomes.coalesced ?? 0).toBe(saved.coalesced);
  });
});
