// Security: a run with real traffic, failed logins, admin calls and upstream failures
// writes logs that contain neither the nb_ key, nor a team key, nor the admin token.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startGateway, type TestGateway } from '../helpers/gateway.js';

describe('logs carry no secret', () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ logStream: stream, simOptions: { apiKey: 'nb_upstream_secret_' + 'z'.repeat(20) } });
  });
  afterAll(async () => gw.close());

  it('after mixed traffic, no key or token appears in any log line', async () => {
    const key = await gw.team('ml');
    const revokedKey = await gw.team('ml');
    const keys = (await gw.admin('GET', '/admin/keys?team=ml')).json().keys;
    await gw.admin('DELETE', `/admin/keys/${keys[1].id}`);
    await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: 'hello' });
    await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: '[fail] refuse' });
    await gw.api('POST', '/api/v2/generate', revokedKey, { model: 'gpt-5', prompt: 'x' });
    await gw.api('POST', '/api/v2/generate', 'nb_gw_wrong_key_' + 'q'.repeat(30), { model: 'gpt-5', prompt: 'x' });
    await call(gw.url, 'GET', '/admin/teams', { headers: { authorization: 'Bearer wrong-admin-token-attempt' } });
    gw.sim.injectFault(500, 1);
    await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: 'provider fails' });
    gw.sim.injectFault('drop', 1);
    await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: 'dropped' });
    await gw.api('GET', '/api/v2/balance', key);

    const log = lines.join('\n');
    expect(lines.length).toBeGreaterThan(8);
    expect(lines.some((line) => JSON.parse(line).team === 'ml')).toBe(true);
    for (const secret of [gw.sim.apiKey, key, revokedKey, gw.adminToken, 'wrong-admin-token-attempt']) {
      expect(log).not.toContain(secret);
    }
    expect(log).not.toMatch(/nb_gw_[A-Za-z0-9_-]{20,}/);
    expect(log).not.toMatch(/nb_upstream_secret/);
  });
});
