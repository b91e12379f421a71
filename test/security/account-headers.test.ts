// Regression: the upstream's account-wide `x-ratelimit-*` headers (the whole account's hourly
// and daily request counts) reached teams on every cache miss. A team never sees them: not on
// a plain answer, a stream, an upstream error, or a forwarded catalog read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { openStream } from '../stream/sse-client.js';

const accountHeaders = (headers: Record<string, string>) => Object.keys(headers).filter((h) => h.startsWith('x-ratelimit-'));

describe("the upstream's x-ratelimit-* headers never reach a team", () => {
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    gw = await startGateway();
    key = await gw.team('ml');
  });
  afterAll(async () => gw.close());

  it('the simulator sends them (so the test below means something)', async () => {
    const res = await fetch(`${gw.sim.url}/api/v2/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.sim.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5', prompt: 'direct' }),
    });
    expect([...res.headers.keys()].filter((h) => h.startsWith('x-ratelimit-'))).not.toEqual([]);
  });

  it('stripped from a cache miss on POST /api/v2/generate', async () => {
    const res = await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: 'headers, plain' });
    expect(res.headers['x-gateway-cache']).toBe('miss');
    expect(accountHeaders(res.headers)).toEqual([]);
  });

  it('stripped from an upstream error passed through', async () => {
    gw.sim.injectFault(500);
    const res = await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: 'headers, error' });
    expect(res.status).toBe(500);
    expect(accountHeaders(res.headers)).toEqual([]);
  });

  it('stripped from a stream', async () => {
    const stream = await openStream(gw.url, '/api/v2/generate/stream', key, { model: 'gpt-5', prompt: 'headers, stream' });
    expect(stream.status).toBe(200);
    await stream.rest();
    expect(accountHeaders(stream.headers)).toEqual([]);
  });
});
