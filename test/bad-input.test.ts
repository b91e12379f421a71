// Bad input gets the contract's error shape and status, never reaches upstream, and the
// gateway keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';

describe('bad input', () => {
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    gw = await startGateway({ config: { server: { body_limit_bytes: 4096 } } });
    key = await gw.team('ml');
  });
  afterAll(async () => gw.close());

  const cases: Array<[string, string | undefined, number, string]> = [
    ['invalid JSON', '{"model": "gpt-5", ', 400, 'bad_request'],
    ['an empty body', '', 400, 'bad_request'],
    ['a JSON array', '[1,2]', 400, 'bad_request'],
    ['a JSON string', '"hello"', 400, 'bad_request'],
    ['a missing model', '{"prompt": "hi"}', 422, 'validation_error'],
    ['a numeric model', '{"model": 5, "prompt": "hi"}', 422, 'validation_error'],
    ['no prompt, messages or text', '{"model": "gpt-5"}', 422, 'validation_error'],
    ['messages that are not a list', '{"model": "gpt-5", "messages": "hi"}', 422, 'validation_error'],
    ['a body over the limit', JSON.stringify({ model: 'gpt-5', prompt: 'x'.repeat(5000) }), 413, 'payload_too_large'],
  ];

  it.each(cases)('%s gets a clear error and no upstream call', async (_name, raw, status, code) => {
    const before = gw.sim.totalGenerateCalls();
    const res = await call(gw.url, 'POST', '/api/v2/generate', {
      key,
      raw,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(status);
    expect(res.json()).toMatchObject({ error: code, message: expect.any(String), details: expect.any(Object) });
    expect(gw.sim.totalGenerateCalls()).toBe(before);
  });

  it.each([
    ['no key', undefined],
    ['an unknown gateway key', 'nb_gw_' + 'A'.repeat(43)],
    ['the upstream key itself', 'nb_sim_demo_key'],
    ['garbage', 'not-a-key'],
  ])('%s gets 401 not_authenticated and no upstream call', async (_name, badKey) => {
    const before = gw.sim.totalGenerateCalls();
    const res = await call(gw.url, 'POST', '/api/v2/generate', { key: badKey, body: { model: 'gpt-5', prompt: 'hi' } });
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ error: 'not_authenticated', details: {} });
    expect(gw.sim.totalGenerateCalls()).toBe(before);
  });

  it('a body sent as form encoding (curl -d without a content type) still works', async () => {
    const res = await call(gw.url, 'POST', '/api/v2/generate', {
      key,
      raw: JSON.stringify({ model: 'gpt-5', prompt: 'form encoded' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
  });

  it('keeps serving after all of that', async () => {
    const res = await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: 'still here?' });
    expect(res.status).toBe(200);
    expect(res.json().status).toBe('completed');
  });
});
