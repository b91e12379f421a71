// Hostile JSON bodies on the generate routes. Regressions: 5,000 levels of nesting inside
// `params` overflowed the stack while the cache key was made (a 500); a `__proto__` member
// vanished from the cache key (so a different request was a cache hit and never reached
// upstream); numbers beyond double precision made the same key; so did invalid UTF-8 bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/cache/canonical-json.js';
import { cacheKey, GENERATE_ROUTE } from '../../src/cache/cache-key.js';
import { MAX_JSON_DEPTH } from '../../src/http/json-depth.js';
import { call, startGateway, type TestGateway } from '../helpers/gateway.js';

const nested = (levels: number) => `{"model":"gpt-5","prompt":"deep","params":${'['.repeat(levels)}1${']'.repeat(levels)}}`;

describe('hostile JSON on POST /api/v2/generate', () => {
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    gw = await startGateway();
    key = await gw.team('ml');
  });
  afterAll(async () => gw.close());

  const send = (raw: string, path = '/api/v2/generate') =>
    call(gw.url, 'POST', path, { key, raw, headers: { 'content-type': 'application/json' } });

  it.each(['/api/v2/generate', '/api/v2/generate/stream'])(
    'deeply nested JSON (5,000 levels inside params) on %s gets 400 in the error shape, no upstream call, and the gateway keeps serving',
    async (path) => {
      const before = gw.sim.totalGenerateCalls();
      const res = await send(nested(5_000), path);
      expect(res.status).toBe(400);
      expect(res.json()).toEqual({
        error: 'bad_request',
        message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
        details: { max_depth: MAX_JSON_DEPTH },
      });
      expect(gw.sim.totalGenerateCalls()).toBe(before);
      expect((await send('{"model":"gpt-5","prompt":"still serving"}')).status).toBe(200);
    },
  );

  // Regression: invalid UTF-8 was decoded with U+FFFD in its place, so bodies differing only in
  // their invalid bytes (0xFF, 0xFE, a cut 0xC3, a real U+FFFD) made one cache key: the second
  // was a hit, never reaching upstream, which may well refuse such a body (JSON is UTF-8).
  it.each([
    ['a lone 0xFF', [0xff]],
    ['a sequence cut short', [0xc3]],
    ['an overlong encoding of "."', [0xc0, 0xae]],
    ['an encoded UTF-16 surrogate', [0xed, 0xa0, 0x80]],
  ])('a body with %s gets 400 bad_request on both generate routes, and no upstream call', async (_name, bytes) => {
    const body = Buffer.concat([Buffer.from('{"model":"gpt-5","prompt":"bytes '), Buffer.from(bytes), Buffer.from('"}')]);
    for (const path of ['/api/v2/generate', '/api/v2/generate/stream']) {
      const before = gw.sim.totalGenerateCalls();
      const res = await call(gw.url, 'POST', path, { key, raw: body, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(res.json()).toEqual({ error: 'bad_request', message: 'Request body is not valid UTF-8', details: {} });
      expect(gw.sim.totalGenerateCalls()).toBe(before);
    }
  });

  it('a real U+FFFD and other non-ASCII text are served as usual', async () => {
    expect((await send('{"model":"gpt-5","prompt":"\\ufffd escaped, \\u00e9"}')).status).toBe(200);
    expect((await send('{"model":"gpt-5","prompt":"\ufffd as sent, ж, 😀"}')).status).toBe(200);
  });

  it('nesting up to the limit is served (and cached) as usual', async () => {
    const body = nested(MAX_JSON_DEPTH - 1);
    expect((await send(body)).headers['x-gateway-cache']).toBe('miss');
    expect((await send(body)).headers['x-gateway-cache']).toBe('hit');
  });

  it('a __proto__ member is part of the cache key: the body with it is a miss and reaches upstream', async () => {
    const plain = await send('{"model":"gpt-5","prompt":"P"}');
    expect(plain.headers['x-gateway-cache']).toBe('miss');
    const before = gw.sim.totalGenerateCalls();
    const withProto = await send('{"model":"gpt-5","prompt":"P","__proto__":{"seed":7}}');
    expect(withProto.headers['x-gateway-cache']).toBe('miss');
    expect(gw.sim.totalGenerateCalls()).toBe(before + 1);
    // ...and it is cached under a key of its own.
    expect((await send('{"__proto__":{"seed":7},"prompt":"P","model":"gpt-5"}')).headers['x-gateway-cache']).toBe('hit');
  });

  it('numbers beyond double precision do not collide in the cache key', async () => {
    const first = await send('{"model":"gpt-5","prompt":"seeded","seed":12345678901234567890}');
    expect(first.headers['x-gateway-cache']).toBe('miss');
    const before = gw.sim.totalGenerateCalls();
    const second = await send('{"model":"gpt-5","prompt":"seeded","seed":12345678901234567891}');
    expect(second.headers['x-gateway-cache']).toBe('miss');
    expect(gw.sim.totalGenerateCalls()).toBe(before + 1);
  });
});

describe('the canonical form of a body', () => {
  it('sorts members at every depth and ignores whitespace', () => {
    expect(canonicalJson('{ "b": [ {"y":1, "x":2} ], "a": "s" }')).toBe('{"a":"s","b":[{"x":2,"y":1}]}');
  });

  it('keeps number literals as written', () => {
    expect(canonicalJson('{"n":12345678901234567890}')).not.toBe(canonicalJson('{"n":12345678901234567891}'));
    expect(canonicalJson('[1.0, 1e2, -0]')).toBe('[1.0,1e2,-0]');
  });

  it('reads the same string written with different escapes as one', () => {
    expect(canonicalJson('{"\\u0061":"\\u00e9\\/"}')).toBe(canonicalJson('{"a":"é/"}'));
  });

  it('keeps the last of a repeated key, as JSON.parse does', () => {
    expect(canonicalJson('{"a":1,"b":0,"a":2}')).toBe('{"a":2,"b":0}');
  });

  it('keeps __proto__ and constructor members as data', () => {
    expect(canonicalJson('{"__proto__":{"seed":7},"constructor":1}')).toBe('{"__proto__":{"seed":7},"constructor":1}');
  });

  it('drops only the top-level stream flag from the cache key', () => {
    const plain = cacheKey(GENERATE_ROUTE, '{"model":"gpt-5","prompt":"p","params":{"stream":1}}', null);
    expect(cacheKey(GENERATE_ROUTE, '{"stream":true,"model":"gpt-5","prompt":"p","params":{"stream":1}}', null)).toBe(plain);
    expect(cacheKey(GENERATE_ROUTE, '{"model":"gpt-5","prompt":"p","params":{}}', null)).not.toBe(plain);
  });
});
