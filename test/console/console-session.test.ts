// The console's server side without a browser: security headers on its routes only, sign-in
// with a sealed HttpOnly SameSite=Strict cookie, cross-site changes refused, the credential in
// no log line, and console.enabled: false leaving no /console route.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startGateway, type TestGateway } from '../helpers/gateway.js';

function cookieOf(setCookie: string): string {
  return setCookie.split(';')[0];
}

describe('console session and security headers', () => {
  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  let gw: TestGateway;
  let session: string;
  beforeAll(async () => {
    gw = await startGateway({ logStream });
    await gw.team('ml');
    const res = await call(gw.url, 'POST', '/console/session', { body: { token: gw.adminToken }, headers: { 'x-console-request': '1' } });
    expect(res.status).toBe(200);
    session = cookieOf(res.headers['set-cookie']);
  });
  afterAll(async () => gw.close());

  it('serves the page with a CSP without inline script and no framing; the drop-in API keeps its headers', async () => {
    const page = await call(gw.url, 'GET', '/console');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const csp = page.headers['content-security-policy'];
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.headers['cache-control']).toBe('no-cache');
    const chartPath = /src="(\/console\/vendor\/[0-9a-f]+\/chart\.umd\.min\.js)"/.exec(page.text)![1];
    const chart = await call(gw.url, 'GET', chartPath);
    expect(chart.status).toBe(200);
    expect(chart.headers['cache-control']).toContain('immutable');
    expect((await call(gw.url, 'GET', chartPath.replace('chart.umd.min.js', 'chart.js'))).status).toBe(404);
    const appPath = /src="(\/console\/assets\/[0-9a-f]+\/js\/app\.js)"/.exec(page.text)![1];
    expect((await call(gw.url, 'GET', appPath)).status).toBe(200);
    expect((await call(gw.url, 'GET', appPath.replace('js/app.js', 'index.html'))).status).toBe(404);
    const api = await call(gw.url, 'GET', '/healthz');
    expect(api.headers['content-security-policy']).toBeUndefined();
  });

  it('signs in with the bootstrap token into an HttpOnly, SameSite=Strict cookie that does not hold it in clear', async () => {
    const res = await call(gw.url, 'POST', '/console/session', { body: { token: gw.adminToken }, headers: { 'x-console-request': '1' } });
    expect(res.json()).toEqual({ name: 'bootstrap', role: 'admin' });
    const cookie = res.headers['set-cookie'];
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\/console/);
    expect(cookie).not.toContain(gw.adminToken);
    expect(res.text).not.toContain(gw.adminToken);
    const who = await call(gw.url, 'GET', '/console/session', { headers: { cookie: cookieOf(cookie) } });
    expect(who.json()).toEqual({ name: 'bootstrap', role: 'admin' });
  });

  it('refuses a wrong credential, a tampered cookie and no cookie', async () => {
    const wrong = await call(gw.url, 'POST', '/console/session', { body: { token: 'not-a-credential-at-all' }, headers: { 'x-console-request': '1' } });
    expect(wrong.status).toBe(401);
    expect(wrong.json().error).toBe('not_authenticated');
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const value = session.split('=')[1];
    const tampered = `egw_console=${value.slice(0, -2)}${value.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await call(gw.url, 'GET', '/console/api/teams', { headers: { cookie: tampered } })).status).toBe(401);
    expect((await call(gw.url, 'GET', '/console/api/teams')).status).toBe(401);
  });

  it('reads the admin API through the session, equal to what the admin API answers', async () => {
    const viaConsole = await call(gw.url, 'GET', '/console/api/teams/ml', { headers: { cookie: session } });
    const direct = await gw.admin('GET', '/admin/teams/ml');
    expect(viaConsole.status).toBe(200);
    expect(viaConsole.json()).toEqual(direct.json());
    const csv = await call(gw.url, 'GET', '/console/api/usage?group_by=team&format=csv', { headers: { cookie: session } });
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/attachment/);
    expect((await call(gw.url, 'GET', '/console/api/../metrics', { headers: { cookie: session } })).status).toBe(404);
  });

  it('refuses changes without the console header or from another origin, and makes them with both', async () => {
    const body = { name: 'web', budget: { tokens: 100, period: 'day' } };
    const noHeader = await call(gw.url, 'POST', '/console/api/teams', { body, headers: { cookie: session } });
    expect(noHeader.status).toBe(403);
    const otherOrigin = await call(gw.url, 'POST', '/console/api/teams', {
      body, headers: { cookie: session, 'x-console-request': '1', origin: 'https://evil.example' },
    });
    expect(otherOrigin.status).toBe(403);
    expect((await gw.admin('GET', '/admin/teams/web')).status).toBe(404);
    const ok = await call(gw.url, 'POST', '/console/api/teams', {
      body, headers: { cookie: session, 'x-console-request': '1', origin: gw.url },
    });
    expect(ok.status).toBe(201);
    expect((await gw.admin('GET', '/admin/teams/web')).json().budget).toEqual({ tokens: 100, period: 'day' });
    const signIn = await call(gw.url, 'POST', '/console/session', { body: { token: gw.adminToken } });
    expect(signIn.status).toBe(403);
  });

  it('writes the credential and the session cookie in no log line', () => {
    const log = lines.join('\n');
    expect(lines.some((line) => JSON.parse(line).route?.startsWith('/console'))).toBe(true);
    expect(log).not.toContain(gw.adminToken);
    expect(log).not.toContain(session.split('=')[1]);
  });
});

describe('console.enabled: false', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ config: { console: { enabled: false } } });
  });
  afterAll(async () => gw.close());

  it('serves no console route', async () => {
    expect((await call(gw.url, 'GET', '/console')).status).toBe(404);
    expect((await call(gw.url, 'POST', '/console/session', { body: { token: gw.adminToken }, headers: { 'x-console-request': '1' } })).status).toBe(404);
  });
});
