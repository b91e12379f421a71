// Streamed generate answers carry x-gateway-budget-remaining like plain ones. Their headers leave
// before the charge is known: the stream that pays says what its key may spend while the estimate
// is held; a follower of an identical stream and a replayed hit say this replica's figure for the
// key (at most a second old), as a plain hit does. Regression: streamed answers carried none.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { openStream } from './sse-client.js';

describe('x-gateway-budget-remaining on streamed answers', () => {
  const clock = new ManualClock(Date.now());
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    // Chunks 40 ms apart: a second identical stream opened at once follows the first.
    gw = await startGateway({ clock, simOptions: { streamChunkDelayMs: 40 } });
    key = await gw.team('ml', { budget: { tokens: 1000, period: 'month' } });
  });
  afterAll(async () => gw.close());

  const remaining = (headers: Record<string, string>) => Number(headers['x-gateway-budget-remaining']);

  it('the paying stream says what is left while its estimate is held; its follower and a later hit say the figure after it', async () => {
    const estimate = gw.app.services.quota.estimate('gpt-5');
    const body = { model: 'gpt-5', messages: [{ role: 'user', content: 'budget header' }], stream: true };
    const [leader, follower] = await Promise.all([
      openStream(gw.url, '/api/v2/generate', key, body),
      openStream(gw.url, '/api/v2/generate', key, body),
    ]);
    expect(leader.headers['x-gateway-cache']).toBe('miss');
    expect(remaining(leader.headers)).toBe(1000 - estimate);
    expect(follower.headers['x-gateway-cache']).toBe('coalesced');
    expect(remaining(follower.headers)).toBeLessThanOrEqual(1000);
    await Promise.all([leader.rest(), follower.rest()]);
    expect(gw.sim.tokensCharged()).toBe(2);

    clock.advance(2_000); // past the replica's one-second figure: the hit reads the store
    const hit = await openStream(gw.url, '/api/v2/generate/stream', key, { model: 'gpt-5', messages: body.messages });
    await hit.rest();
    expect(hit.headers['x-gateway-cache']).toBe('hit');
    expect(remaining(hit.headers)).toBe(998);
  });
});
