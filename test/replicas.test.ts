// Two gateway instances sharing one Redis (one server, a Sentinel setup or a Cluster) act as
// one: a key issued on one works on the other, and a revocation on one holds on the other
// within a second.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vi } from 'vitest';
import { startGateway, startReplica, type TestGateway } from './helpers/gateway.js';

describe.each(['redis', 'redis-sentinel', 'redis-cluster'] as const)('replicas on %s', (backend) => {
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    a = await startGateway({ backend, config: { auth: { revocation_poll_ms: 100 } } });
    b = await startReplica(a, { config: { auth: { revocation_poll_ms: 100 } } });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('a key revoked on one replica is refused by the other within one second', async () => {
    const key = await a.team('ml');
    expect((await b.api('GET', '/api/v2/balance', key)).status).toBe(200); // b now has it cached
    const [{ id }] = (await a.admin('GET', '/admin/keys?team=ml')).json().keys;
    const revokedAt = Date.now();
    await a.admin('DELETE', `/admin/keys/${id}`);
    await vi.waitFor(async () => expect((await b.api('GET', '/api/v2/balance', key)).status).toBe(401), {
      timeout: 1_000,
      interval: 20,
    });
    expect(Date.now() - revokedAt).toBeLessThan(1_000);
  });
});
