// The audit log: append-only storage on both backends with filters and the retention prune,
// and over HTTP an entry for every mutating admin route (enumerated from the app), with the
// actor, the changed fields before and after, and no secret anywhere in JSON or CSV.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../src/audit/audit-log.js';
import { createRedisAuditStore } from '../src/audit/redis-audit-store.js';
import { createSqliteAuditStore } from '../src/audit/sqlite-audit-store.js';
import { ManualClock } from '../src/clock.js';
import type { StoreConnection } from '../src/store/connection.js';
import { mutatingAdminRoutes } from './helpers/admin-routes.js';
import { backends, cleanup, storeBackends } from './helpers/backends.js';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';

const DAY = 86_400_000;

describe.each(storeBackends)('audit store on $name', (backend) => {
  let conn: StoreConnection;
  beforeAll(async () => {
    conn = await backend.open();
  });
  afterAll(async () => cleanup(conn));

  it('appends, filters by time, actor and action, and prunes past the retention', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const log = new AuditLog(conn.kind === 'sqlite' ? createSqliteAuditStore(conn) : createRedisAuditStore(conn), clock);
    const change = { ip: '10.0.0.1', before: null, after: { name: 'ml', budget: { tokens: 5, period: 'month' } } };
    await log.record({ ...change, actor: 'bootstrap', action: 'team.create', target: 'ml' });
    await log.record({ ...change, actor: 'bootstrap', action: 'team.create', target: 'ml' }); // same ms: still two entries
    clock.advance(10 * DAY);
    await log.record({ ...change, actor: 'ops', action: 'team.update', target: 'ml', before: { budget: { tokens: 5 } }, after: { budget: { tokens: 9 } } });
    await log.record({ ...change, actor: 'ops', action: 'key.revoke', target: 'key_1', before: { revoked_at: 'x' }, after: { revoked_at: 'x' } });

    const all = await log.query({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER });
    expect(all.map((e) => e.action)).toEqual(['team.create', 'team.create', 'team.update']); // a no-op change is not logged
    expect(all[0]).toEqual({
      at: '2026-01-01T00:00:00.000Z',
      actor: 'bootstrap',
      action: 'team.create',
      target: 'ml',
      changes: { name: [null, 'ml'], 'budget.tokens': [null, 5], 'budget.period': [null, 'month'] },
      ip: '10.0.0.1',
    });
    expect(all[2].changes).toEqual({ 'budget.tokens': [5, 9] });
    expect(await log.query({ fromMs: Date.UTC(2026, 0, 5), toMs: Number.MAX_SAFE_INTEGER })).toHaveLength(1);
    expect(await log.query({ fromMs: 0, toMs: Date.UTC(2026, 0, 5) })).toHaveLength(2);
    expect(await log.query({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, actor: 'ops' })).toHaveLength(1);
    expect(await log.query({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, action: 'team.create', actor: 'ops' })).toHaveLength(0);

    clock.set(Date.UTC(2026, 0, 1) + 365 * DAY + 1);
    expect(await log.prune(365)).toBe(2);
    expect((await log.query({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER })).map((e) => e.action)).toEqual(['team.update']);
  });

});

describe('audit log on SQLite', () => {
  it('refuses to edit an entry', async () => {
    const conn = await backends[0].open();
    try {
      if (conn.kind !== 'sqlite') throw new Error('backends[0] is SQLite');
      const log = new AuditLog(createSqliteAuditStore(conn), new ManualClock());
      await log.record({ actor: 'ops', ip: null, action: 'team.create', target: 'ml', before: null, after: { name: 'ml' } });
      expect(() => conn.db.prepare(`UPDATE audit_log SET actor = 'someone else'`).run()).toThrow(/append-only/);
    } finally {
      await cleanup(conn);
    }
  });
});

describe('audit log over HTTP', () => {
  let gw: TestGateway;
  const secrets: string[] = [];
  const as = (token: string, method: string, path: string, body?: unknown) =>
    call(gw.url, method, path, { body, headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    gw = await startGateway();
    secrets.push(gw.adminToken);
  });
  afterAll(async () => gw.close());

  it('has an entry for every mutating route, with actor and changes, and never a secret', async () => {
    const ops = (await gw.admin('POST', '/admin/tokens', { name: 'ops', role: 'admin' })).json();
    secrets.push(ops.token);
    const op = async (method: string, path: string, body?: unknown) => {
      const answer = await as(ops.token, method, path, body);
      expect(answer.status, `${method} ${path}: ${answer.text}`).toBeLessThan(300);
      return answer.text ? answer.json() : null;
    };
    // One real call per mutating route, each with the action it must log.
    const done: Record<string, string> = {};
    const run = async (route: string, action: string, path: string, body?: unknown) => {
      const [method] = route.split(' ');
      done[route] = action;
      return op(method, path, body);
    };
    await run('POST /admin/teams', 'team.create', '/admin/teams', { name: 'ml', budget: { tokens: 1000, period: 'day' } });
    await run('PATCH /admin/teams/:name', 'team.update', '/admin/teams/ml', { budget: { tokens: 2000, period: 'day' } });
    const issued = await run('POST /admin/teams/:name/keys', 'key.issue', '/admin/teams/ml/keys', { label: 'batch' });
    await run('PATCH /admin/keys/:id', 'key.update', `/admin/keys/${issued.id}`, { rate_limit: { tokens_per_minute: 100 } });
    const rotated = await run('POST /admin/keys/:id/rotate', 'key.rotate', `/admin/keys/${issued.id}/rotate`);
    await run('DELETE /admin/keys/:id', 'key.revoke', `/admin/keys/${rotated.id}`);
    const viewer = await run('POST /admin/tokens', 'token.create', '/admin/tokens', { name: 'grafana', role: 'viewer' });
    await run('DELETE /admin/tokens/:id', 'token.revoke', `/admin/tokens/${viewer.id}`);
    await run('DELETE /admin/teams/:name', 'team.delete', '/admin/teams/ml');
    secrets.push(issued.key, rotated.key, viewer.token);
    expect(Object.keys(done).sort()).toEqual(mutatingAdminRoutes(gw).map(([m, p]) => `${m} ${p}`).sort());

    const entries = (await gw.admin('GET', '/admin/audit?actor=ops')).json().entries;
    expect(entries.map((e: { action: string }) => e.action)).toEqual(Object.values(done));
    for (const entry of entries) expect(entry).toMatchObject({ actor: 'ops', ip: '127.0.0.1', at: expect.any(String) });
    const byAction = Object.fromEntries(entries.map((e: { action: string }) => [e.action, e]));
    expect(byAction['team.update'].changes).toEqual({ 'budget.tokens': [1000, 2000] });
    expect(byAction['team.create']).toMatchObject({ target: 'ml', changes: { 'budget.period': [null, 'day'] } });
    expect(byAction['key.update']).toMatchObject({ target: issued.id });
    expect(Object.keys(byAction['key.update'].changes).join()).toMatch(/rate_limit/);
    expect(byAction['key.rotate']).toMatchObject({ target: issued.id, changes: { replaced_by: [null, rotated.id] } });
    expect(byAction['key.revoke'].changes.revoked_at[0]).toBeNull();
    expect(byAction['token.create'].changes).toMatchObject({ name: [null, 'grafana'], role: [null, 'viewer'] });
    expect(byAction['team.delete'].changes['budget.tokens']).toEqual([2000, null]);
    // The creation of the ops token itself, by the bootstrap credential.
    expect((await gw.admin('GET', '/admin/audit?actor=bootstrap&action=token.create')).json().entries).toHaveLength(1);

    const json = (await gw.admin('GET', '/admin/audit')).text;
    const csv = await gw.admin('GET', '/admin/audit?format=csv');
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.text.split('\r\n')[0]).toBe('at,actor,action,target,changes,ip');
    expect(csv.text.split('\r\n')).toHaveLength(entries.length + 3); // header, the bootstrap's entry, trailing CRLF
    for (const secret of secrets) {
      expect(json).not.toContain(secret);
      expect(csv.text).not.toContain(secret);
    }
    expect(json).not.toContain('hash');
  });

  it('is readable by a viewer, filters by time, and validates its query', async () => {
    const viewer = (await gw.admin('POST', '/admin/tokens', { name: 'auditor', role: 'viewer' })).json();
    secrets.push(viewer.token);
    expect((await as(viewer.token, 'GET', '/admin/audit')).status).toBe(200);
    expect((await gw.admin('GET', '/admin/audit?to=2001-01-01')).json().entries).toEqual([]);
    const today = new Date().toISOString().slice(0, 10);
    expect((await gw.admin('GET', `/admin/audit?from=${today}&to=${today}`)).json().entries.length).toBeGreaterThan(0);
    const anHourAgo = encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString());
    expect((await gw.admin('GET', `/admin/audit?from=${anHourAgo}`)).json().entries.length).toBeGreaterThan(0);
    // Fastify checks the query against the route's schema (a real day or an RFC 3339 time, json or csv).
    const refused = { 'from=yesterday': 'from', 'to=2026-02-30': 'to', 'format=xml': 'format', 'from=2026-02-01&to=2026-01-01': 'from' };
    for (const [query, field] of Object.entries(refused)) {
      const answer = await gw.admin('GET', `/admin/audit?${query}`);
      expect(answer.status, query).toBe(422);
      expect(answer.json().error).toBe('validation_error');
      expect(Object.keys(answer.json().details.fields), query).toContain(field);
    }
  });
});
