// Regression: a request with two Authorization headers was served with the first one (Node keeps
// the first and drops the rest), so a proxy or log in front reading another one saw a different
// credential than the gateway used. Two credentials are ambiguous: 400 bad_request, nothing served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { answers, raw } from '../helpers/raw-http.js';

describe('a request with more than one Authorization header', () => {
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    gw = await startGateway();
    key = await gw.team('ml');
  });
  afterAll(async () => gw.close());

  const body = JSON.stringify({ model: 'gpt-5', prompt: 'two credentials' });
  const request = (method: string, path: string, authorizations: string[]) =>
    `${method} ${path} HTTP/1.1\r\nHost: x\r\n${authorizations.map((a) => `Authorization: ${a}\r\n`).join('')}` +
    `Content-Type: application/json\r\nContent-Length: ${method === 'POST' ? Buffer.byteLength(body) : 0}\r\nConnection: close\r\n\r\n` +
    (method === 'POST' ? body : '');

  it.each([
    ['a valid team key, then another', 'POST', '/api/v2/generate', () => [`Bearer ${key}`, 'Bearer nb_gw_other']],
    ['another, then a valid team key', 'POST', '/api/v2/generate', () => ['Bearer nb_gw_other', `Bearer ${key}`]],
    ['the same team key twice', 'GET', '/api/v2/balance', () => [`Bearer ${key}`, `bearer ${key}`]],
    ['the admin token, then another', 'GET', '/admin/teams', () => [`Bearer ${gw.adminToken}`, 'Bearer wrong']],
  ])('%s on %s %s gets 400 bad_request in the error shape, and no upstream call', async (_name, method, path, authorizations) => {
    const before = gw.sim.totalGenerateCalls();
    const [answer] = answers(await raw(gw.url, request(method, path, authorizations())));
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: 'bad_request', message: 'Send one Authorization header', details: { header: 'authorization' } });
    expect(gw.sim.totalGenerateCalls()).toBe(before);
  });

  it('one Authorization header is served as usual, and the gateway keeps serving', async () => {
    const [answer] = answers(await raw(gw.url, request('POST', '/api/v2/generate', [`Bearer ${key}`])));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'completed' });
  });
});
