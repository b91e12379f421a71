// Hostile input on the forwarded catalog routes. Regression: a slug of `.` or `..` (sent raw or
// as %2e%2e, which clients do not normalize away) was forwarded as /api/v2/models/.. : an
// upstream or proxy that resolves dot segments serves that as /api/v2/, a route the gateway
// never forwards. It is a 404 here, with no upstream call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/http/json-depth.js';
import { call, startGateway, type TestGateway } from '../helpers/gateway.js';
import { answers, raw } from '../helpers/raw-http.js';

const upstreamCalls = (gw: TestGateway) => Object.values(gw.sim.calls()).reduce((sum, n) => sum + n, 0);

let gw: TestGateway;
let key: string;
beforeAll(async () => {
  gw = await startGateway();
  key = await gw.team('ml');
});
afterAll(async () => gw.close());

describe('hostile input on the catalog routes', () => {
  /** One request as raw bytes (the path exactly as written), and its answer. */
  const send = async (method: string, path: string, body = '') => {
    const head = `${method} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\n`;
    const [answer] = answers(await raw(gw.url, `${head}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`));
    return answer;
  };

  it.each([
    ['GET', '/api/v2/models/..'],
    ['GET', '/api/v2/models/%2e%2e'],
    ['GET', '/api/v2/models/%2E%2E'],
    ['GET', '/api/v2/models/.'],
    ['GET', '/api/v2/models/%2e'],
    ['POST', '/api/v2/models/%2e%2e/calculate-price'],
    ['POST', '/api/v2/models/./calculate-price'],
  ])('%s %s is 404 not_found, never forwarded', async (method, path) => {
    const before = upstreamCalls(gw);
    const answer = await send(method, path, method === 'POST' ? '{}' : '');
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ error: 'not_found', message: expect.any(String), details: {} });
    expect(upstreamCalls(gw)).toBe(before);
  });

  it('a slug with dots and encoded slashes stays one segment upstream', async () => {
    const before = gw.sim.calls()['GET /api/v2/models/:slug'] ?? 0;
    const answer = await send('GET', '/api/v2/models/..%2F..%2Fuser%2Fhistory');
    expect(answer.status).toBe(404); // the simulator's: no such model
    expect(gw.sim.calls()['GET /api/v2/models/:slug']).toBe(before + 1);
    expect(gw.sim.calls()['GET /api/v2/user/history']).toBeUndefined();
  });

  it('keeps serving the catalog', async () => {
    expect((await send('GET', '/api/v2/models/gpt-5')).status).toBe(200);
  });
});

// Regression: a calculate-price body that was not JSON, or not an object, or 5,000 levels deep
// was forwarded, each one an upstream call counted against the account's hourly and daily caps.
describe('calculate-price bodies', () => {
  const price = (raw: string) =>
    call(gw.url, 'POST', '/api/v2/models/gpt-5/calculate-price', { key, raw, headers: { 'content-type': 'application/json' } });
  const priceCalls = () => gw.sim.calls()['POST /api/v2/models/:slug/calculate-price'] ?? 0;

  it.each([
    // The simulator refuses what is not JSON before counting it: the message says who answered.
    ['not JSON', 'count=3', 'Request body is not valid JSON'],
    ['truncated JSON', '{"params": {', 'Request body is not valid JSON'],
    ['a JSON array', '[{"count": 3}]', 'Request body must be a JSON object'],
    ['a JSON number', '3', 'Request body must be a JSON object'],
    ['JSON null', 'null', 'Request body must be a JSON object'],
    ['JSON nested 5,000 levels', `{"params":${'['.repeat(5_000)}${']'.repeat(5_000)}}`, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`],
  ])('%s gets 400 bad_request from the gateway and no upstream call', async (_name, raw, message) => {
    const before = priceCalls();
    const res = await price(raw);
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ error: 'bad_request', message, details: expect.any(Object) });
    expect(priceCalls()).toBe(before);
  });

  it('a JSON object, and an empty body (read as {}), are still forwarded', async () => {
    const before = priceCalls();
    expect((await price('{"params": {}, "count": 2}')).json()).toMatchObject({ token_cost: expect.any(Number) });
    expect((await price('')).status).toBe(200);
    expect(priceCalls()).toBe(before + 2);
  });
});
