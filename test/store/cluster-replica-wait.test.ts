// store.redis_wait_replicas 1 on a Cluster of three masters with a replica each (started here,
// once: the shared Cluster has no replicas): settlements on teams spread over every master are
// acknowledged by a WAIT on each master; with one master's replica cut off the waits come back
// short and the settlement journal keeps them, without holding a team back, until it is back.
import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deleteRedisPrefix, openStore, type StoreConnection } from '../../src/store/connection.js';
import { unique } from '../cache/helpers.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startCluster, type ClusterSetup } from '../helpers/redis-cluster.js';
import { infoField, redisCli, until } from '../helpers/redis-servers.js';

/** store.redis_wait_timeout_ms's default: an acknowledged WAIT takes a few ms here, but a loaded machine has seen one take over 100. */
const WAIT_TIMEOUT_MS = 500;

/** WAIT commands the node on `port` has run so far (INFO commandstats). */
async function waitsRun(port: number): Promise<number> {
  const stats = await redisCli(port, 'info', 'commandstats');
  return Number(/calls=(\d+)/.exec(infoField(stats, 'cmdstat_wait') ?? '')?.[1] ?? 0);
}

async function shortWaits(gw: TestGateway): Promise<number> {
  const text = (await gw.admin('GET', '/metrics')).text;
  return Number(/^elumenta_gateway_store_replica_wait_short_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

/** A team name per master port: its quota keys' hash tag (`{t:<team>}`) lands on that master's slots. */
async function teamsPerMaster(redis: Cluster, masters: number[]): Promise<Map<number, string>> {
  const ranges = await redis.cluster('SLOTS');
  const owner = (slot: number) => ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
  const teams = new Map<number, string>();
  for (let n = 0; teams.size < masters.length; n++) {
    const team = `spread-${n}`;
    const port = owner(Number(await redis.cluster('KEYSLOT', `{t:${team}}`)));
    if (!teams.has(port)) teams.set(port, team);
  }
  return teams;
}

describe('store.redis_wait_replicas 1 on a Cluster with a replica per master', () => {
  let cluster: ClusterSetup;
  let store: StoreConnection;
  let gw: TestGateway;
  let shards: Awaited<ReturnType<ClusterSetup['shards']>>;
  /** Each master's port, its team and that team's key. */
  const teams: Array<{ port: number; team: string; key: string }> = [];

  beforeAll(async () => {
    cluster = await startCluster({ replicas: 1 });
    shards = await cluster.shards();
    store = await openStore(cluster.url, {
      redisPrefix: `egw-test:${randomUUID()}:`,
      redisWaitReplicas: 1,
      redisWaitTimeoutMs: WAIT_TIMEOUT_MS,
    });
    if (store.kind !== 'redis') throw new Error('expected Redis');
    gw = await startGateway({ store });
    const masters = shards.map((s) => s.master.port);
    for (const [port, team] of await teamsPerMaster(store.redis as Cluster, masters)) teams.push({ port, team, key: await gw.team(team) });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    if (store?.kind === 'redis') await deleteRedisPrefix(store.redis, store.prefix);
    await store?.close();
    await cluster?.stop();
  });

  const generateOnEveryMaster = async (times: number) => {
    for (let i = 0; i < times; i++) {
      for (const { key } of teams) {
        const answer = await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: unique('cluster wait') });
        expect(answer.status).toBe(200);
      }
    }
  };

  /** The ledger's tokens over the teams (admin usage), and what the teams' budgets count as spent, against the simulator's charges. */
  const ledgerEqualsCharges = async () => {
    let [ledger, spent] = [0, 0];
    for (const { team } of teams) {
      const rows = (await gw.admin('GET', `/admin/usage?group_by=team&team=${team}`)).json().rows as Array<{ tokens_spent: number }>;
      ledger += rows.reduce((sum, r) => sum + r.tokens_spent, 0);
      spent += (await gw.usage(team)).spent;
    }
    expect(ledger).toBeGreaterThan(0);
    expect(ledger).toBe(gw.sim.tokensCharged());
    expect(spent).toBe(ledger);
  };

  it('settles on every master, each acknowledged by its replica: no short WAIT, nothing left in the journal', async () => {
    const before = await Promise.all(shards.map((s) => waitsRun(s.master.port)));
    await generateOnEveryMaster(2);
    const after = await Promise.all(shards.map((s) => waitsRun(s.master.port)));
    // One WAIT per settlement at least, on every master (not only the one the settlement went to).
    after.forEach((n, i) => expect(n - before[i]).toBeGreaterThanOrEqual(2 * teams.length));
    expect(await shortWaits(gw)).toBe(0);
    expect(gw.app.services.journal.size).toBe(0);
    await ledgerEqualsCharges();
  });

  it("one master's replica cut off: WAITs come back short, the journal keeps the settlements until it is back", async () => {
    const [cut] = shards;
    const replica = cut.replica!;
    const shortBefore = await shortWaits(gw);
    const { journal } = gw.app.services;
    // The replica stays up but cannot authenticate to its master any more (no failover: the master is fine).
    await redisCli(replica.port, 'config', 'set', 'masterauth', 'not-the-password');
    await redisCli(replica.port, 'client', 'kill', 'type', 'master');
    await until('replica cut off', async () => infoField(await redisCli(cut.master.port, 'info', 'replication'), 'connected_slaves') === '0');
    try {
      await generateOnEveryMaster(1);
      // Every settlement's WAIT covers every master, so all of them are unconfirmed, whichever master took them.
      expect(await shortWaits(gw)).toBeGreaterThanOrEqual(shortBefore + teams.length);
      expect(journal.size).toBe(teams.length);
      for (const { team } of teams) expect(journal.has(team)).toBe(false); // nothing holds a team back meanwhile
      await ledgerEqualsCharges(); // the masters took them all the same
    } finally {
      await redisCli(replica.port, 'config', 'set', 'masterauth', '');
    }
    await until('replica back in sync', async () => infoField(await redisCli(replica.port, 'info', 'replication'), 'master_link_status') === 'up');
    await vi.waitFor(() => expect(journal.size).toBe(0), { timeout: 10_000, interval: 50 });
    expect(journal.replayed).toBe(0); // confirmed by a WAIT, not settled again
    await ledgerEqualsCharges();
  });
});
