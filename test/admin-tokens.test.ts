// Admin credentials: named admin/viewer tokens on both stores (conformance), the role gate on
// every /admin route (a viewer reads all and changes nothing), whoami, /metrics, and a
// revocation that holds on another replica at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisTokenStore } from '../src/admin/redis-token-store.js';
import { createSqliteTokenStore } from '../src/admin/sqlite-token-store.js';
import type { AdminTokenRecord, AdminTokenStore } from '../src/admin/token-store.js';
import type { StoreConnection } from '../src/store/connection.js';
import { mutatingAdminRoutes } from './helpers/admin-routes.js';
import { openTwice, storeBackends, type TwoConnections } from './helpers/backends.js';
import { call, startGateway, startReplica, type TestGateway } from './helpers/gateway.js';

const tokenStore = (conn: StoreConnection): AdminTokenStore =>
  conn.kind === 'sqlite' ? createSqliteTokenStore(conn) : createRedisTokenStore(conn);

const record = (id: string, name: string, hash: string): AdminTokenRecord => ({
  id,
  name,
  role: 'viewer',
  hash,
  created_at: `2026-01-01T00:00:0${id.length % 10}Z`,
  revoked_at: null,
});

describe.each(storeBackends)('admin token store on $name', (backend) => {
  let stores: TwoConnections;
  beforeAll(async () => (stores = await openTwice(backend)));
  afterAll(() => stores.close());

  it('keeps active names unique, finds by hash, revokes once, and frees the name', async () => {
    const { conn, other } = stores;
    const store = tokenStore(conn);
    expect(await store.insert(record('tok_1', 'grafana', 'h1'))).toBe(true);
    expect(await store.insert(record('tok_2', 'grafana', 'h2'))).toBe(false);
    expect(await store.findByHash('h1')).toMatchObject({ id: 'tok_1', name: 'grafana', role: 'viewer', revoked_at: null });
    expect(await store.findByHash('h2')).toBeNull();

    const revoked = await store.revoke('tok_1', '2026-02-01T00:00:00.000Z');
    expect(revoked?.revoked_at).toBe('2026-02-01T00:00:00.000Z');
    expect((await store.revoke('tok_1', '2026-03-01T00:00:00.000Z'))?.revoked_at).toBe('2026-02-01T00:00:00.000Z');
    expect(await store.revoke('tok_missing', '2026-02-01T00:00:00.000Z')).toBeNull();
    // Another connection (another replica) sees the revocation.
    expect((await tokenStore(other).findByHash('h1'))?.revoked_at).toBe('2026-02-01T00:00:00.000Z');

    expect(await store.insert(record('tok_3', 'grafana', 'h3'))).toBe(true);
    expect((await store.list()).map((t) => t.id)).toEqual(['tok_1', 'tok_3']);
  });
});

describe('admin credentials over HTTP', () => {
  let gw: TestGateway;
  let viewer: string;
  let admin: string;
  const as = (token: string, method: string, path: string, body?: unknown) =>
    call(gw.url, method, path, { body, headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    gw = await startGateway({ config: { metrics: { token: 'metrics-scrape-token-1' } } });
    await gw.team('ml');
    const created = await gw.admin('POST', '/admin/tokens', { name: 'dashboard', role: 'viewer' });
    expect(created.status).toBe(201);
    expect(Object.keys(created.json()).sort()).toEqual(['created_at', 'id', 'name', 'revoked_at', 'role', 'token']);
    viewer = created.json().token;
    admin = (await gw.admin('POST', '/admin/tokens', { name: 'ops@example.com', role: 'admin' })).json().token;
  });
  afterAll(async () => gw.close());

  it('says who is calling', async () => {
    expect((await gw.admin('GET', '/admin/whoami')).json()).toEqual({ name: 'bootstrap', role: 'admin' });
    expect((await as(viewer, 'GET', '/admin/whoami')).json()).toEqual({ name: 'dashboard', role: 'viewer' });
    expect((await as(admin, 'GET', '/admin/whoami')).json()).toEqual({ name: 'ops@example.com', role: 'admin' });
    expect((await as('egw_adm_unknown', 'GET', '/admin/whoami')).status).toBe(401);
  });

  it('lets a viewer read every admin route and change none of them', async () => {
    for (const path of ['/admin/teams', '/admin/teams/ml', '/admin/keys', '/admin/tokens', '/admin/usage', '/admin/status']) {
      expect((await as(viewer, 'GET', path)).status, path).toBe(200);
    }
    const mutating = mutatingAdminRoutes(gw).map(([method, path]): [string, string] => [method, path.replace(/:(\w+)/g, 'sample_$1')]);
    expect(mutating.map(([m, p]) => `${m} ${p}`)).toEqual(
      expect.arrayContaining([
        'POST /admin/teams',
        'PATCH /admin/teams/sample_name',
        'POST /admin/teams/sample_name/keys',
        'DELETE /admin/tokens/sample_id',
        'POST /admin/keys/sample_id/rotate',
      ]),
    );
    for (const [method, path] of mutating) {
      const answer = await as(viewer, method, path, {});
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.json()).toMatchObject({ error: 'forbidden', details: {} });
    }
    expect((await gw.admin('GET', '/admin/teams/ml')).status).toBe(200); // nothing was changed or deleted
  });

  it('lets a named admin change things, and validates token requests', async () => {
    expect((await as(admin, 'POST', '/admin/teams', { name: 'web', budget: { tokens: 10 } })).status).toBe(201);
    expect((await gw.admin('POST', '/admin/tokens', { name: 'dashboard', role: 'viewer' })).status).toBe(409);
    for (const body of [{ name: 'bootstrap', role: 'admin' }, { name: 'x', role: 'root' }, { name: 'has space', role: 'viewer' }, {}]) {
      const answer = await gw.admin('POST', '/admin/tokens', body);
      expect(answer.status, JSON.stringify(body)).toBe(422);
      expect(answer.json().error).toBe('validation_error');
    }
  });

  it('lists tokens without their secrets, and a revoked token stops working at once', async () => {
    const created = (await gw.admin('POST', '/admin/tokens', { name: 'temp', role: 'admin' })).json();
    expect(created.token).toMatch(/^egw_adm_[A-Za-z0-9_-]{43}$/);
    const listed = await gw.admin('GET', '/admin/tokens');
    expect(listed.json().tokens.map((t: { name: string }) => t.name)).toEqual(['dashboard', 'ops@example.com', 'temp']);
    for (const secret of [created.token, viewer, admin]) expect(listed.text).not.toContain(secret);
    expect(listed.text).not.toContain('hash');

    const revoked = await as(admin, 'DELETE', `/admin/tokens/${created.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.json().revoked_at).toBeTruthy();
    expect((await as(created.token, 'GET', '/admin/whoami')).status).toBe(401);
    expect((await gw.admin('DELETE', '/admin/tokens/tok_missing')).status).toBe(404);
  });

  it('opens /metrics to a viewer or admin credential when a metrics token is set, not to a team key', async () => {
    expect((await call(gw.url, 'GET', '/metrics')).status).toBe(401);
    expect((await as('metrics-scrape-token-1', 'GET', '/metrics')).status).toBe(200);
    expect((await as(viewer, 'GET', '/metrics')).status).toBe(200);
    expect((await as(admin, 'GET', '/metrics')).status).toBe(200);
    expect((await as(gw.adminToken, 'GET', '/metrics')).status).toBe(200);
    expect((await as(await gw.team('metrics-probe'), 'GET', '/metrics')).status).toBe(401);
  });
});

describe('admin credentials across replicas on Redis', () => {
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    a = await startGateway({ backend: 'redis' });
    b = await startReplica(a);
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('a token created on one replica works on the other, and its revocation holds there at once', async () => {
    const created = (await a.admin('POST', '/admin/tokens', { name: 'ci', role: 'viewer' })).json();
    const whoami = () => call(b.url, 'GET', '/admin/whoami', { headers: { authorization: `Bearer ${created.token}` } });
    expect((await whoami()).json()).toEqual({ name: 'ci', role: 'viewer' });
    await a.admin('DELETE', `/admin/tokens/${created.id}`);
    expect((await whoami()).status).toBe(401);
  });
});
