// Durability: after kill -9 of a gateway process and a restart on the same store, every
// acknowledged write (teams, keys, revocations, charges in the ledger) is still there.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteQuotaStore } from '../../src/quota/sqlite-quota-store.js';
import { createRedisQuotaStore } from '../../src/quota/redis-quota-store.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { StoreConnection } from '../../src/store/connection.js';
import { backends, cleanup, redisUrl } from '../helpers/backends.js';
import { BUILD_TIMEOUT_MS, buildCli, exitOf, startChildGateway } from '../helpers/child.js';
import { call } from '../helpers/gateway.js';

const storeUrlOf = (conn: StoreConnection) => (conn.kind === 'sqlite' ? `sqlite:${conn.path}` : redisUrl);

// The gateway runs as `npm start` runs it: the built CLI (dist/, compiled here if stale).
beforeAll(buildCli, BUILD_TIMEOUT_MS);

describe.each(backends)('kill -9 on $name', (backend) => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator();
  });
  afterAll(async () => sim.close());

  it('keeps every acknowledged write', async () => {
    const conn = await backend.open();
    const adminToken = randomBytes(24).toString('hex');
    const env = {
      ELUMENTA_API_KEY: sim.apiKey,
      ELUMENTA_BASE_URL: sim.url,
      GATEWAY_ADMIN_TOKEN: adminToken,
      STORE_URL: storeUrlOf(conn),
      GATEWAY_REDIS_PREFIX: conn.kind === 'redis' ? conn.prefix : '',
    };
    const admin = { authorization: `Bearer ${adminToken}` };
    try {
      const first = await startChildGateway(env);
      expect((await call(first.url, 'POST', '/admin/teams', { headers: admin, body: { name: 'ml', budget: { tokens: 1000 } } })).status).toBe(201);
      const kept = (await call(first.url, 'POST', '/admin/teams/ml/keys', { headers: admin, body: {} })).json();
      const gone = (await call(first.url, 'POST', '/admin/teams/ml/keys', { headers: admin, body: {} })).json();
      expect((await call(first.url, 'DELETE', `/admin/keys/${gone.id}`, { headers: admin })).status).toBe(200);
      let charged = 0;
      for (let i = 0; i < 5; i++) {
        const res = await call(first.url, 'POST', '/api/v2/generate', { key: kept.key, body: { model: 'gpt-5', prompt: `q${i}` } });
        expect(res.status).toBe(200);
        charged += res.json().tokens_spent;
      }
      first.proc.kill('SIGKILL');
      await exitOf(first.proc);

      const second = await startChildGateway(env);
      try {
        const team = await call(second.url, 'GET', '/admin/teams/ml', { headers: admin });
        expect(team.json().usage).toMatchObject({ spent: charged, reserved: 0 });
        expect((await call(second.url, 'GET', '/api/v2/balance', { key: kept.key })).status).toBe(200);
        expect((await call(second.url, 'GET', '/api/v2/balance', { key: gone.key })).status).toBe(401);
        const quota = conn.kind === 'sqlite' ? createSqliteQuotaStore(conn) : createRedisQuotaStore(conn);
        const rows = await quota.ledger('2000-01-01', '2999-12-31');
        expect(rows.reduce((sum, row) => sum + row.tokens_spent, 0)).toBe(charged);
        expect(rows.reduce((sum, row) => sum + row.requests, 0)).toBe(5);
      } finally {
        second.proc.kill('SIGKILL');
        await exitOf(second.proc);
      }
    } finally {
      await cleanup(conn);
    }
  });
});
