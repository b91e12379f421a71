// Redis beyond one server: STORE_URL forms for Sentinel and Cluster, the cache spread over the
// Cluster's masters, cleanup that scans every master, keys written before the registry's hash
// tag carried over, and two gateways coalescing over the Cluster's pub/sub.
import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCacheStore } from '../../src/cache/cache-store.js';
import { createRedisFlightCoordinator } from '../../src/cache/redis-flight-coordinator.js';
import { deleteRedisPrefix, openStore, StoreUrlError, type RedisConnection } from '../../src/store/connection.js';
import { parseRedisUrl } from '../../src/store/redis-url.js';
import { createRedisTeamStore } from '../../src/teams/redis-team-store.js';
import { generate, unique } from '../cache/helpers.js';
import { cleanup, redisShapes, redisUrl } from '../helpers/backends.js';
import { startGateway, startReplica, type TestGateway } from '../helpers/gateway.js';

const cluster = redisShapes.find((b) => b.name === 'redis-cluster')!;

function asRedis(conn: unknown): RedisConnection {
  if ((conn as RedisConnection).kind !== 'redis') throw new Error('expected a Redis connection');
  return conn as RedisConnection;
}

describe('STORE_URL for Redis shapes', () => {
  it('reads sentinels, master name, db and credentials', () => {
    expect(parseRedisUrl('redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2/mymaster/2')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
      ],
      master: 'mymaster',
      db: 2,
      password: 's3cret',
    });
    expect(parseRedisUrl('redis+cluster://a:7000,b:7001')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
    });
    expect(parseRedisUrl('redis://h:6380/1')).toEqual({ kind: 'single', url: 'redis://h:6380/1' });
  });

  it.each([
    'redis+sentinel://h:26379',
    'redis+sentinel://h:26379/m/x',
    'redis+sentinel://h:26379/m/1/2',
    'redis+cluster://h:7000/1',
    'redis+cluster://h:notaport',
  ])('refuses %s with a StoreUrlError', async (url) => {
    await expect(openStore(url)).rejects.toBeInstanceOf(StoreUrlError);
  });

  it('refuses a key prefix with a brace (it would move the hash tags)', async () => {
    await expect(openStore(redisUrl, { redisPrefix: 'egw-test:{x}:' })).rejects.toThrow(/must not contain/);
  });
});

describe('on a Cluster', () => {
  let conn: RedisConnection;
  beforeAll(async () => {
    conn = asRedis(await cluster.open());
  });
  afterAll(async () => cleanup(conn));

  it('spreads the cache over every master, and deleteRedisPrefix empties them all', async () => {
    const cache = createCacheStore(conn);
    const now = Date.now();
    await Promise.all(Array.from({ length: 60 }, (_, n) => cache.set(`entry-${n}`, Buffer.from(String(n)), now + 60_000, now)));
    const masters = (conn.redis as Cluster).nodes('master');
    const perMaster = async () =>
      Promise.all(masters.map(async (node) => (await node.scan('0', 'MATCH', `${conn.prefix}*`, 'COUNT', 1000))[1].length));
    const before = await perMaster();
    expect(before).toHaveLength(3);
    expect(before.every((n) => n > 0)).toBe(true);
    await deleteRedisPrefix(conn.redis, conn.prefix);
    expect(await perMaster()).toEqual([0, 0, 0]);
  });

  it("keeps a team's keys and the registry's keys each on one slot", async () => {
    const teams = createRedisTeamStore(conn);
    await teams.createTeam({ name: 'ml', budget: { tokens: 10, period: 'month' } } as never);
    const slots = await Promise.all(
      ['teams', 'keys', 'keys:by-hash', 'registry:version'].map((n) => conn.redis.cluster('KEYSLOT', `${conn.prefix}{registry}:${n}`)),
    );
    expect(new Set(slots).size).toBe(1);
    expect((await teams.getTeam('ml'))?.name).toBe('ml');
  });
});

describe('keys written before the registry hash tag (one Redis)', () => {
  it('are carried over when the team store opens', async () => {
    const prefix = `egw-test:${randomUUID()}:`;
    const conn = asRedis(await openStore(redisUrl, { redisPrefix: prefix }));
    try {
      const team = { name: 'legacy', budget: { tokens: 5, period: 'month' } };
      await conn.redis.hset(`${prefix}teams`, 'legacy', JSON.stringify(team));
      await conn.redis.set(`${prefix}registry:version`, '7');
      const teams = createRedisTeamStore(conn);
      expect(await teams.getTeam('legacy')).toEqual(team);
      expect(await teams.version()).toBe(7);
      expect(await conn.redis.exists(`${prefix}teams`)).toBe(0);
    } finally {
      await deleteRedisPrefix(conn.redis, prefix);
      await conn.close();
    }
  });
});

describe('coalescing across two gateways on a Cluster', () => {
  let a: TestGateway;
  let b: TestGateway;
  let key: string;
  const config = { cache: { lock_ms: 400, poll_ms: 50 }, upstream: { timeouts: { text: { first_byte_ms: 5_000, total_ms: 5_000 } } } };
  beforeAll(async () => {
    a = await startGateway({ backend: 'redis-cluster', simOptions: { latencyMs: 300 }, config });
    b = await startReplica(a, { config });
    key = await a.team('ml');
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('40 identical requests spread over both make at most 2 upstream calls (1 expected), as on one Redis', async () => {
    const body = { model: 'gpt-5', prompt: unique('cluster twins') };
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => generate(i % 2 ? b : a, key, body)));
    expect(answers.every((x) => x.status === 200)).toBe(true);
    expect(a.sim.callsFor(body)).toBeGreaterThanOrEqual(1);
    expect(a.sim.callsFor(body)).toBeLessThanOrEqual(2);
    expect(answers.filter((x) => x.headers['x-gateway-cache'] === 'miss')).toHaveLength(a.sim.callsFor(body));
  });

  it("a leader's release on one gateway wakes a waiter on the other (cluster pub/sub)", async () => {
    const lead = createRedisFlightCoordinator(asRedis(a.store));
    const wait = createRedisFlightCoordinator(asRedis(b.store));
    try {
      await wait.ready(5_000);
      const flight = `flight-${randomUUID()}`;
      expect(await lead.readOrLead(flight, 'a', 10_000, Date.now())).toEqual({ led: true });
      const { done } = wait.listen(flight);
      await lead.release(flight, 'a');
      await done; // no poll here: only the notice resolves it (the test would time out)
    } finally {
      await Promise.all([lead.close(), wait.close()]);
    }
  });
});
