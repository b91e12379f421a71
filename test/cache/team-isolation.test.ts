// A team with cache.share false keeps its entries in a namespace of its own: it neither reads
// the common pool nor is read by it. Every other team shares one pool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { generate, unique } from './helpers.js';

describe.each(backends)('non-sharing teams on $name', ({ name }) => {
  let gw: TestGateway;
  let a: string;
  let b: string;
  let secret: string;
  beforeAll(async () => {
    gw = await startGateway({ backend: name });
    a = await gw.team('a');
    b = await gw.team('b');
    secret = await gw.team('secret', { cache: { share: false } });
  });
  afterAll(async () => gw.close());

  it('does not read what sharing teams cached', async () => {
    const body = { model: 'gpt-5', prompt: unique('pooled') };
    expect((await generate(gw, a, body)).headers['x-gateway-cache']).toBe('miss');
    expect((await generate(gw, b, body)).headers['x-gateway-cache']).toBe('hit');
    expect((await generate(gw, secret, body)).headers['x-gateway-cache']).toBe('miss');
    expect((await generate(gw, secret, body)).headers['x-gateway-cache']).toBe('hit'); // its own entry
    expect(gw.sim.callsFor(body)).toBe(2);
  });

  it('is not read by sharing teams', async () => {
    const body = { model: 'gpt-5', prompt: unique('private') };
    const mine = await generate(gw, secret, body);
    expect(mine.headers['x-gateway-cache']).toBe('miss');
    const theirs = await generate(gw, a, body);
    expect(theirs.headers['x-gateway-cache']).toBe('miss');
    expect(theirs.json().id).not.toBe(mine.json().id);
    expect((await gw.api('GET', `/api/v2/generate/${mine.json().id}`, a)).status).toBe(404);
    expect(gw.sim.callsFor(body)).toBe(2);
  });
});
