// The exact cache through the gateway: what is a hit (same meaning, whatever the field order
// or `stream` flag), what it costs (nothing), what is never cached (failed answers), and the
// L2 behind the in-process L1, on both backends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { generate, unique, usage } from './helpers.js';

describe.each(backends)('exact cache on $name', ({ name }) => {
  let gw: TestGateway;
  let ml: string;
  let web: string;
  beforeAll(async () => {
    gw = await startGateway({ backend: name });
    ml = await gw.team('ml');
    web = await gw.team('web');
  });
  afterAll(async () => gw.close());

  it('a hit is the original body with tokens_spent 0, costs its team nothing, and never calls upstream', async () => {
    const body = { model: 'gpt-5', prompt: unique('explain qubits'), params: { temperature: 0.2 } };
    const first = await generate(gw, ml, body);
    expect(first.status).toBe(200);
    expect(first.headers['x-gateway-cache']).toBe('miss');
    expect(first.headers['x-gateway-tokens-saved']).toBeUndefined();
    const original = first.json();
    expect(original.tokens_spent).toBe(2);

    const before = await usage(gw, 'web');
    const hit = await generate(gw, web, body);
    expect(hit.status).toBe(200);
    expect(hit.headers['x-gateway-cache']).toBe('hit');
    expect(hit.headers['x-gateway-tokens-saved']).toBe('2');
    expect(hit.headers['content-type']).toMatch(/^application\/json/);
    expect(hit.json()).toEqual({ ...original, tokens_spent: 0 });
    expect(await usage(gw, 'web')).toEqual(before);
    expect(gw.sim.callsFor(body)).toBe(1);
    // The team handed the generation may read it too.
    expect((await gw.api('GET', `/api/v2/generate/${original.id}`, web)).status).toBe(200);
  });

  it('serves from the shared store (L2) when the in-process layer has nothing', async () => {
    const body = { model: 'gpt-5-nano', prompt: unique('l2') };
    const first = (await generate(gw, ml, body)).json();
    gw.app.services.cache.l1.clear();
    const hit = await generate(gw, ml, body);
    expect(hit.headers['x-gateway-cache']).toBe('hit');
    expect(hit.json()).toEqual({ ...first, tokens_spent: 0 });
    expect(gw.sim.callsFor(body)).toBe(1);
  });

  it('the order of fields does not matter, at any depth; the stream flag is not part of the key', async () => {
    const prompt = unique('order');
    await generate(gw, ml, { model: 'gpt-5', prompt, params: { temperature: 0.5, max_tokens: 20 }, size: 'x' });
    const reordered = await generate(gw, ml, { size: 'x', params: { max_tokens: 20, temperature: 0.5 }, prompt, model: 'gpt-5' });
    expect(reordered.headers['x-gateway-cache']).toBe('hit');
    expect(gw.sim.callsFor({ model: 'gpt-5', prompt, params: { temperature: 0.5, max_tokens: 20 }, size: 'x' })).toBe(1);
  });

  it('nested params do matter, and so do messages', async () => {
    const prompt = unique('nested');
    await generate(gw, ml, { model: 'gpt-5', prompt, params: { temperature: 0.2 } });
    const other = await generate(gw, ml, { model: 'gpt-5', prompt, params: { temperature: 0.3 } });
    expect(other.headers['x-gateway-cache']).toBe('miss');
    const deeper = await generate(gw, ml, { model: 'gpt-5', prompt, params: { temperature: 0.2, extra: { a: [1, 2] } } });
    const deeperSwapped = await generate(gw, ml, { model: 'gpt-5', prompt, params: { temperature: 0.2, extra: { a: [2, 1] } } });
    expect(deeper.headers['x-gateway-cache']).toBe('miss');
    expect(deeperSwapped.headers['x-gateway-cache']).toBe('miss'); // array order is meaning
    const say = (content: string) => ({ model: 'gpt-5', messages: [{ role: 'user', content }] });
    const m = unique('messages');
    await generate(gw, ml, say(m));
    expect((await generate(gw, ml, say(`${m}!`))).headers['x-gateway-cache']).toBe('miss');
    expect((await generate(gw, ml, say(m))).headers['x-gateway-cache']).toBe('hit');
  });

  it('failed answers are never cached', async () => {
    const body = { model: 'gpt-5', prompt: unique('[fail] refused') };
    const first = await generate(gw, ml, body);
    expect(first.json()).toMatchObject({ status: 'failed', tokens_spent: 0 });
    const again = await generate(gw, ml, body);
    expect(again.headers['x-gateway-cache']).toBe('miss');
    expect(again.json().status).toBe('failed');
    expect(gw.sim.callsFor(body)).toBe(2);
  });

  it('upstream errors are never cached', async () => {
    const body = { model: 'no-such-model-xyz', prompt: unique('err') };
    expect((await generate(gw, ml, body)).status).toBe(404);
    const again = await generate(gw, ml, body);
    expect(again.status).toBe(404);
    expect(again.headers['x-gateway-cache']).toBe('miss');
    expect(gw.sim.callsFor(body)).toBe(2);
  });

  it('the request that went upstream paid: its team was charged, the hitting team was not', async () => {
    const payer = await gw.team(`payer-${name}`);
    const rider = await gw.team(`rider-${name}`);
    const body = { model: 'claude-sonnet-4.5', prompt: unique('who pays') };
    await generate(gw, payer, body);
    await generate(gw, rider, body);
    expect((await usage(gw, `payer-${name}`)).spent).toBe(4);
    expect((await usage(gw, `rider-${name}`))).toMatchObject({ spent: 0, reserved: 0 });
  });
});
