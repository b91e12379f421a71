// Regression: rate limits counted the calendar minute, so with 4 requests a minute 8 calls
// passed within 4 s around a minute boundary, and a 429 had `retry_after` in its body but no
// Retry-After header. The window now slides; the clock is injected, nothing sleeps.
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

describe.each(['sqlite', 'redis'] as const)('a requests_per_minute window on %s', (backend) => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('with 4 a minute, 8 calls within 4 s around a minute boundary: 4 reach upstream, 4 get 429 with Retry-After', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 10, 12, 0, 58)); // 2 s before a minute ends
    gw = await startGateway({ backend, clock });
    const key = await gw.team('ml', { rate_limit: { requests_per_minute: 4 } });
    const before = gw.sim.totalGenerateCalls();
    const answers = [];
    for (let n = 0; n < 8; n++) {
      answers.push(await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: `call ${n}` }));
      clock.advance(500); // 12:00:58.0 ... 12:01:01.5
    }
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 429, 429, 429, 429]);
    expect(gw.sim.totalGenerateCalls() - before).toBe(4);
    // The first call leaves the window at 12:01:58.0: the 429 at 12:01:00.0 says 58 s, at 12:01:01.5 57 s (rounded up).
    expect(answers.slice(4).map((a) => a.headers['retry-after'])).toEqual(['58', '58', '57', '57']);
    for (const limited of answers.slice(4)) {
      expect(limited.json()).toMatchObject({
        error: 'rate_limit_exceeded',
        retry_after: Number(limited.headers['retry-after']),
        details: { limit: 'requests_per_minute', scope: 'team' },
      });
    }
    // When Retry-After says, there is room again: one call's worth.
    clock.set(Date.UTC(2026, 5, 10, 12, 1, 58));
    expect((await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: 'after the wait' })).status).toBe(200);
    expect((await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: 'one too many' })).status).toBe(429);
  });
});
