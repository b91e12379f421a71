// Admin request bodies as the README's own curl lines send them: `curl -d '{...}'` without a
// Content-Type (curl then says application/x-www-form-urlencoded) is read as JSON, like the
// drop-in routes read theirs; a POST without any body is an empty object.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startGateway, type TestGateway } from '../helpers/gateway.js';

describe('admin bodies', () => {
  let gw: TestGateway;
  const send = (method: string, path: string, raw: string | undefined, contentType?: string) =>
    call(gw.url, method, path, {
      raw,
      headers: { authorization: `Bearer ${gw.adminToken}`, ...(contentType ? { 'content-type': contentType } : {}) },
    });
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => gw.close());

  it('reads a body sent with curl -d (form content type) or with no content type as JSON', async () => {
    const created = await send('POST', '/admin/teams', '{"name": "ml", "budget": {"tokens": 5000, "period": "month"}}', 'application/x-www-form-urlencoded');
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({ name: 'ml', budget: { tokens: 5000, period: 'month' } });

    const key = await send('POST', '/admin/teams/ml/keys', '{"label": "batch", "rate_limit": {"tokens_per_minute": 200}}', 'application/x-www-form-urlencoded');
    expect(key.status).toBe(201);
    expect(key.json()).toMatchObject({ label: 'batch', rate_limit: { tokens_per_minute: 200 } });

    const patched = await send('PATCH', `/admin/keys/${key.json().id}`, '{"rate_limit": {"requests_per_minute": 30}}', 'text/plain');
    expect(patched.status).toBe(200);
    expect(patched.json().rate_limit).toEqual({ requests_per_minute: 30, tokens_per_minute: 200 });

    const noType = await send('PATCH', '/admin/teams/ml', '{"budget": {"tokens": 8000}}');
    expect(noType.status).toBe(200);
    expect(noType.json().budget).toEqual({ tokens: 8000, period: 'month' });
  });

  it('still refuses what is not JSON, in the error shape', async () => {
    const form = await send('POST', '/admin/teams', 'name=ml2&budget=5', 'application/x-www-form-urlencoded');
    expect(form.status).toBe(400);
    expect(form.json()).toMatchObject({ error: 'bad_request' });
  });

  it('a POST without a body is an empty object: a key with no label, or 422 naming the fields a team needs', async () => {
    await gw.admin('POST', '/admin/teams', { name: 'bare', budget: { tokens: 100 } });
    const key = await send('POST', '/admin/teams/bare/keys', undefined);
    expect(key.status).toBe(201);
    expect(key.json()).toMatchObject({ team: 'bare', label: null });

    const team = await send('POST', '/admin/teams', undefined);
    expect(team.status).toBe(422);
    expect(Object.keys(team.json().details.fields)).toEqual(expect.arrayContaining(['name', 'budget']));
  });
});
