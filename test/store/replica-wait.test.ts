// store.redis_wait_replicas on the run's Sentinel setup (a master and one replica): off, no
// WAIT is sent at all; with 1, a settlement is on the replica before the answer; with more than
// there are, the settlement is answered, counted as short and kept in the settlement journal
// without holding back the team's next request. (What a failover loses: ./failover.test.ts.)
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { deleteRedisPrefix, openStore, type StoreConnection } from '../../src/store/connection.js';
import { unique } from '../cache/helpers.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { infoField } from '../helpers/redis-servers.js';

const WAIT_TIMEOUT_MS = 100;

/** WAIT commands the master has run so far (INFO commandstats). */
async function waitsRun(conn: StoreConnection): Promise<number> {
  if (conn.kind !== 'redis') throw new Error('expected Redis');
  const stats = await conn.redis.info('commandstats');
  return Number(/calls=(\d+)/.exec(infoField(stats, 'cmdstat_wait') ?? '')?.[1] ?? 0);
}

async function shortWaits(gw: TestGateway): Promise<number> {
  const text = (await gw.admin('GET', '/metrics')).text;
  return Number(/^elumenta_gateway_store_replica_wait_short_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

describe.each([0, 1, 2])('store.redis_wait_replicas %i on a Sentinel setup with one replica', (replicas) => {
  let store: StoreConnection;
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    store = await openStore(inject('redisSentinelUrl'), {
      redisPrefix: `egw-test:${randomUUID()}:`,
      redisWaitReplicas: replicas,
      redisWaitTimeoutMs: WAIT_TIMEOUT_MS,
    });
    gw = await startGateway({ store });
    key = await gw.team('ml');
  });
  afterAll(async () => {
    await gw.close();
    if (store.kind === 'redis') await deleteRedisPrefix(store.redis, store.prefix);
    await store.close();
  });

  it('settles every answered request into the ledger; WAITs only when asked, short only when the replicas are too few', async () => {
    const before = await waitsRun(store);
    for (let i = 0; i < 3; i++) {
      const answer = await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: unique('wait') });
      expect(answer.status).toBe(200);
    }
    const waits = (await waitsRun(store)) - before;
    const { journal } = gw.app.services;
    if (replicas === 0) expect(waits).toBe(0); // off: not one extra command
    else expect(waits).toBeGreaterThanOrEqual(3);
    // Too few replicas: answered all the same, kept until they have it, and no request held back for it.
    expect(journal.size).toBe(replicas === 2 ? 3 : 0);
    expect(journal.has('ml')).toBe(false);
    if (replicas === 2) expect(await shortWaits(gw)).toBeGreaterThanOrEqual(3);
    else expect(await shortWaits(gw)).toBe(0);
    const usage = await gw.usage('ml');
    expect(usage.spent).toBe(gw.sim.tokensCharged());
  });
});
