// Hostile bodies through the console. Regression: the admin passthrough (/console/api/*)
// re-serialized the parsed body for the admin API, and JSON.stringify overflowed the stack on a
// body nested 10,000 levels deep: a 500 internal_error (and an error log line) per request.
// Console bodies are held to the generate routes' rule: deeper than 64 levels is a 400.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/http/json-depth.js';
import { call, startGateway, type TestGateway } from '../helpers/gateway.js';

const nested = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

describe('hostile bodies on the console routes', () => {
  let gw: TestGateway;
  let cookie: string;
  beforeAll(async () => {
    gw = await startGateway();
    const res = await call(gw.url, 'POST', '/console/session', { body: { token: gw.adminToken }, headers: { 'x-console-request': '1' } });
    cookie = res.headers['set-cookie'].split(';')[0];
  });
  afterAll(async () => gw.close());

  const post = (path: string, raw: string) =>
    call(gw.url, 'POST', path, { raw, headers: { 'content-type': 'application/json', 'x-console-request': '1', cookie } });

  it.each([
    ['/console/api/teams', `{"name":"deep","budget":{"tokens":1,"period":"day"},"allowed_models":${nested(10_000)}}`],
    ['/console/api/tokens', `{"name":"deep","role":"viewer","x":${nested(MAX_JSON_DEPTH)}}`],
    ['/console/session', `{"token":"x","x":${nested(10_000)}}`],
  ])('POST %s with a body nested too deep gets 400 bad_request, changes nothing, and the console keeps serving', async (path, raw) => {
    const res = await post(path, raw);
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ error: 'bad_request', message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels`, details: { max_depth: MAX_JSON_DEPTH } });
    expect((await gw.admin('GET', '/admin/teams')).json().teams).toEqual([]);
    expect((await call(gw.url, 'GET', '/console/api/whoami', { headers: { cookie } })).json()).toEqual({ name: 'bootstrap', role: 'admin' });
  });

  it('a body nested within the limit goes through as before', async () => {
    const res = await post('/console/api/teams', `{"name":"ml","budget":{"tokens":1,"period":"day"},"cache":{"share":true}}`);
    expect(res.status).toBe(201);
    const deepButFine = await post('/console/api/teams', `{"name":"x","budget":{"tokens":1,"period":"day"},"allowed_models":${nested(MAX_JSON_DEPTH - 1)}}`);
    expect(deepButFine.status).toBe(422); // the admin API's answer: allowed_models.0 must be a string
  });
});
