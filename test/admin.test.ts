// The admin API: teams and keys as the contract lists them, behind the admin token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';

describe('admin API', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => gw.close());

  it('refuses a missing or wrong admin token', async () => {
    expect((await call(gw.url, 'GET', '/admin/teams')).status).toBe(401);
    const wrong = await call(gw.url, 'GET', '/admin/teams', { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.json().error).toBe('not_authenticated');
  });

  it('creates, reads, changes, lists and deletes a team', async () => {
    const created = await gw.admin('POST', '/admin/teams', {
      name: 'ml',
      budget: { tokens: 5000, period: 'month' },
      rate_limit: { requests_per_minute: 60 },
    });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({ name: 'ml', budget: { tokens: 5000, period: 'month' }, cache: { share: true } });
    expect((await gw.admin('POST', '/admin/teams', { name: 'ml', budget: { tokens: 1 } })).status).toBe(409);

    const read = await gw.admin('GET', '/admin/teams/ml');
    expect(read.json().usage).toMatchObject({ budget: 5000, spent: 0, reserved: 0, remaining: 5000 });
    expect(read.json().usage.resets_at).toMatch(/^\d{4}-\d\d-01T/);

    const patched = await gw.admin('PATCH', '/admin/teams/ml', { budget: { tokens: 7000 }, rate_limit: null });
    expect(patched.json()).toMatchObject({ budget: { tokens: 7000, period: 'month' }, rate_limit: null });
    expect((await gw.admin('GET', '/admin/teams')).json().teams.map((t: { name: string }) => t.name)).toContain('ml');

    expect((await gw.admin('DELETE', '/admin/teams/ml')).status).toBe(204);
    expect((await gw.admin('GET', '/admin/teams/ml')).status).toBe(404);
  });

  it('rejects invalid team input with 422 naming the field', async () => {
    const bad = await gw.admin('POST', '/admin/teams', { name: 'Bad Name!', budget: { tokens: -1 } });
    expect(bad.status).toBe(422);
    expect(bad.json().error).toBe('validation_error');
    expect(Object.keys(bad.json().details.fields)).toEqual(expect.arrayContaining(['name', 'budget.tokens']));
    const malformed = await call(gw.url, 'POST', '/admin/teams', {
      raw: '{"name":',
      headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.json().error).toBe('bad_request');
  });

  it('a key\'s bad model pattern: 422 naming the list item in words, not the regex nor the list\'s null branch', async () => {
    await gw.admin('POST', '/admin/teams', { name: 'patterns', budget: { tokens: 100 } });
    const key = (await gw.admin('POST', '/admin/teams/patterns/keys', {})).json();
    const bad = await gw.admin('PATCH', `/admin/keys/${key.id}`, { allowed_models: ['gpt-5', 'gpt 5'] });
    expect(bad.status).toBe(422);
    const problem = 'must be a slug, a * glob, or category:<text|image|video|audio|other>';
    expect(bad.json()).toMatchObject({ message: `Invalid request body: allowed_models.1 ${problem}`, details: { fields: { 'allowed_models.1': problem } } });
    expect(Object.keys(bad.json().details.fields)).toEqual(['allowed_models.1']);
  });

  it('issues a key shown once, lists keys without secrets, rotates and revokes', async () => {
    await gw.admin('POST', '/admin/teams', { name: 'web', budget: { tokens: 100, period: 'day' } });
    const issued = await gw.admin('POST', '/admin/teams/web/keys', { label: 'frontend' });
    expect(issued.status).toBe(201);
    const body = issued.json();
    expect(Object.keys(body).sort()).toEqual([
      'allowed_models', 'budget', 'created_at', 'expires_at', 'id', 'key', 'label', 'max_tokens_per_request', 'rate_limit',
      'revoked_at', 'team',
    ]);
    expect(body.key).toMatch(/^nb_gw_[A-Za-z0-9_-]{43}$/);

    const listed = await gw.admin('GET', '/admin/keys?team=web');
    expect(listed.text).not.toContain(body.key);
    expect(listed.text).not.toContain('hash');
    expect(listed.json().keys).toHaveLength(1);

    expect((await gw.api('GET', '/api/v2/balance', body.key)).status).toBe(200);
    const rotated = await gw.admin('POST', `/admin/keys/${body.id}/rotate`);
    expect(rotated.status).toBe(201);
    expect(rotated.json().key).not.toBe(body.key);
    expect((await gw.api('GET', '/api/v2/balance', body.key)).status).toBe(401);
    expect((await gw.api('GET', '/api/v2/balance', rotated.json().key)).status).toBe(200);

    const revoked = await gw.admin('DELETE', `/admin/keys/${rotated.json().id}`);
    expect(revoked.json().revoked_at).toBeTruthy();
    expect((await gw.api('GET', '/api/v2/balance', rotated.json().key)).status).toBe(401);
    expect((await gw.admin('DELETE', '/admin/keys/key_missing')).status).toBe(404);
  });

  it('a key past its expiry is refused', async () => {
    await gw.admin('POST', '/admin/teams', { name: 'exp', budget: { tokens: 100 } });
    const past = await gw.admin('POST', '/admin/teams/exp/keys', { expires_at: '2001-01-01T00:00:00Z' });
    expect(past.status).toBe(422);
  });

  it('reports status without secrets', async () => {
    const status = await gw.admin('GET', '/admin/status');
    expect(status.status).toBe(200);
    expect(status.json()).toMatchObject({ store: { kind: 'sqlite', healthy: true } });
    expect(status.json().upstream.balance.token_balance).toBeGreaterThan(0);
    expect(status.text).not.toContain(gw.sim.apiKey);
    expect(status.text).not.toContain(gw.adminToken);
  });
});
