// A Sentinel failover under two gateway instances: the master is killed under load; both serve
// again without a restart (the time is printed), no budget is overspent, every charge the
// simulator made reaches the ledger, and a revocation after it reaches the other instance
// within a second. Then what a failover loses when the master dies right after acknowledging
// writes its replica never got: everything with store.redis_wait_replicas 0, nothing with 1.
// And a master that hangs instead of dying: the instance moves on the sentinels' word alone; and
// a replica that only falls behind: the journal lets its unconfirmed settlements go once it is back.
// Slow (real failovers, ~40 s): `npm run test:failover`, not part of `npm test`.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { openStore, type StoreConnection } from '../../src/store/connection.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { infoField, redisCli, startSentinelSetup, until, type SentinelSetup } from '../helpers/redis-servers.js';
import { unique } from '../cache/helpers.js';

const MODEL = 'gpt-5';
/** Short WAITs: after the failover the new master has no replica until the old one is revived. */
const WAIT_TIMEOUT_MS = 200;

let setup: SentinelSetup;
beforeAll(async () => {
  setup = await startSentinelSetup();
}, 60_000);
afterAll(async () => {
  await setup?.stop();
});

interface Pair {
  sim: Simulator;
  stores: StoreConnection[];
  gateways: TestGateway[];
  close(): Promise<void>;
}

/** `count` gateway instances on the Sentinel setup, each with its own connection, sharing one simulator and key prefix. */
async function instances(count: number, waitReplicas: number, url = setup.url): Promise<Pair> {
  const sim = await startSimulator();
  const prefix = `egw-test:failover:${randomUUID()}:`;
  const stores: StoreConnection[] = [];
  const gateways: TestGateway[] = [];
  for (let i = 0; i < count; i++) {
    stores.push(await openStore(url, { redisPrefix: prefix, redisWaitReplicas: waitReplicas, redisWaitTimeoutMs: WAIT_TIMEOUT_MS }));
    gateways.push(await startGateway({ store: stores[i], sim }));
  }
  return {
    sim,
    stores,
    gateways,
    async close() {
      for (const gw of gateways) await gw.close();
      for (const store of stores) await store.close();
      await sim.close();
    },
  };
}

/**
 * A "sentinel" that accepts connections and never answers, listed first in `url`: a connection
 * spends a second on it (the sentinel command timeout; ioredis sets none, and waited forever)
 * before asking a real one, and reconnections that try it are still under way when the failover
 * is announced (the race that ended ioredis's client with its own failoverDetector).
 */
async function withHungSentinel(url: string): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: url.replace('://', `://127.0.0.1:${port},`),
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

async function ledgerSpent(gw: TestGateway, team: string): Promise<number> {
  const rows = (await gw.admin('GET', `/admin/usage?group_by=team&team=${team}`)).json().rows as Array<{ tokens_spent: number }>;
  return rows.reduce((sum, r) => sum + r.tokens_spent, 0);
}

const generate = (gw: TestGateway, key: string) => gw.api('POST', '/api/v2/generate', key, { model: MODEL, prompt: unique('failover') });

/** Both data nodes up, the replica in sync and counted by the sentinels. */
async function healthy(): Promise<void> {
  const master = await setup.currentMaster();
  for (const node of setup.dataNodes()) {
    if (node !== master && (node.proc.exitCode !== null || node.proc.signalCode !== null)) await setup.revive(node);
  }
}

describe('a Sentinel failover under two gateway instances', () => {
  it('the master is killed under load: both serve again, no overspend, every charge in the ledger, revocations still reach both', async () => {
    await healthy();
    const BUDGET = 600; // gpt-5 costs 2: the load runs out of budget after the failover
    const { sim, gateways, close } = await instances(2, 1);
    try {
      const [a, b] = gateways;
      const key = await a.team('load', { budget: { tokens: BUDGET, period: 'month' } });
      const statuses = new Map<number, number>();
      const servedAgain: Array<number | null> = [null, null];
      let killedAt: number | null = null;
      let stop = false;
      let okBeforeKill = 0;
      const worker = async (n: number) => {
        const gw = gateways[n % 2];
        while (!stop) {
          const started = performance.now();
          const answer = await generate(gw, key);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (answer.status === 200 && killedAt === null) okBeforeKill++;
          if (answer.status === 200 && killedAt !== null && started > killedAt) servedAgain[n % 2] ??= performance.now() - killedAt;
          if (answer.status === 402 && servedAgain.every((t) => t !== null)) return;
        }
      };
      const load = Promise.all(Array.from({ length: 16 }, (_, n) => worker(n)));

      await vi.waitFor(() => expect(okBeforeKill).toBeGreaterThanOrEqual(60), { timeout: 20_000, interval: 10 });
      const master = await setup.currentMaster();
      killedAt = performance.now();
      await master.kill();
      const promoted = await setup.failedOver(master.port);
      const failoverMs = performance.now() - killedAt;
      // Every worker stops at a 402 once both served again; none may wait past 30 s.
      const deadline = setTimeout(() => (stop = true), 30_000);
      await load;
      clearTimeout(deadline);
      console.log(
        `failover: sentinels named ${promoted.port} after ${Math.round(failoverMs)} ms; served again after ` +
          `${servedAgain.map((t) => (t === null ? 'never' : `${Math.round(t)} ms`)).join(' and ')}; answers ${JSON.stringify(Object.fromEntries(statuses))}`,
      );
      expect(servedAgain.every((t) => t !== null)).toBe(true);
      expect(statuses.get(402)).toBeGreaterThan(0); // the budget ran out after the failover
      expect([...statuses.keys()].every((s) => [200, 402, 503].includes(s))).toBe(true);

      // The old master comes back as a replica: the settlements left unconfirmed are confirmed now.
      await setup.revive(master);
      await vi.waitFor(() => expect(a.app.services.journal.size + b.app.services.journal.size).toBe(0), { timeout: 10_000, interval: 50 });
      const charged = sim.tokensCharged();
      const usage = await a.usage('load');
      console.log(`failover: simulator charged ${charged}, ledger ${await ledgerSpent(a, 'load')}, spent ${usage.spent} of ${BUDGET}`);
      expect(await ledgerSpent(a, 'load')).toBe(charged);
      expect(usage.spent).toBe(charged);
      expect(usage.spent).toBeLessThanOrEqual(BUDGET);

      // A revocation on one instance after the failover holds on the other within a second.
      const [{ id }] = (await a.admin('GET', '/admin/keys?team=load')).json().keys;
      expect((await b.api('GET', '/api/v2/balance', key)).status).toBe(200);
      const revokedAt = performance.now();
      expect((await a.admin('DELETE', `/admin/keys/${id}`)).status).toBe(200);
      await vi.waitFor(async () => expect((await b.api('GET', '/api/v2/balance', key)).status).toBe(401), { timeout: 1_000, interval: 20 });
      const revokedMs = performance.now() - revokedAt;
      console.log(`failover: revocation reached the other instance after ${Math.round(revokedMs)} ms`);
      expect(revokedMs).toBeLessThan(1_000);
    } finally {
      await close();
    }
  }, 90_000);

  /**
   * The replica stops taking the replication stream (it cannot re-authenticate to the master),
   * then requests are answered and the master is killed: the replica, promoted, never had their
   * writes. The instance's STORE_URL lists a hung sentinel first (a failover during a reconnection). Returns the tokens the simulator charged for them, and how many of all it charged
   * since (theirs and the probes' after the failover) the ledger lacks.
   */
  async function lostOnFailover(waitReplicas: number): Promise<{ acked: number; lost: number }> {
    await healthy();
    const hung = await withHungSentinel(setup.url);
    const { sim, gateways, close } = await instances(1, waitReplicas, hung.url);
    const [gw] = gateways;
    try {
      const key = await gw.team('acked');
      for (let i = 0; i < 3; i++) expect((await generate(gw, key)).status).toBe(200);
      const master = await setup.currentMaster();
      const replica = setup.dataNodes().find((n) => n !== master)!;
      // Everything so far is on the replica (its offset is the master's), then its link is cut for good.
      await until('replica caught up', async () => {
        const info = await redisCli(master.port, 'info', 'replication');
        return new RegExp(`offset=${infoField(info, 'master_repl_offset')},`).test(infoField(info, 'slave0') ?? '');
      });
      const before = await ledgerSpent(gw, 'acked');
      const chargedBefore = sim.tokensCharged();
      await redisCli(replica.port, 'config', 'set', 'masterauth', 'not-the-password');
      await redisCli(replica.port, 'client', 'kill', 'type', 'master');
      await until('replica cut off', async () => infoField(await redisCli(master.port, 'info', 'replication'), 'connected_slaves') === '0');

      const answers = await Promise.all(Array.from({ length: 10 }, () => generate(gw, key)));
      for (const answer of answers) expect(answer.status).toBe(200);
      const acked = sim.tokensCharged() - chargedBefore;

      await master.kill();
      await redisCli(replica.port, 'config', 'set', 'masterauth', '');
      await setup.failedOver(master.port);
      await vi.waitFor(async () => expect((await generate(gw, key)).status).toBe(200), { timeout: 20_000, interval: 50 });
      await setup.revive(master);
      await vi.waitFor(() => expect(gw.app.services.journal.size).toBe(0), { timeout: 10_000, interval: 50 });
      const charged = sim.tokensCharged() - chargedBefore;
      return { acked, lost: charged - ((await ledgerSpent(gw, 'acked')) - before) };
    } finally {
      await close();
      await hung.close();
    }
  }

  it('the master dies right after acknowledging writes its replica lacks: WAIT off loses them, WAIT on loses nothing (a hung sentinel listed first)', async () => {
    const off = await lostOnFailover(0);
    const on = await lostOnFailover(1);
    console.log(
      `failover loss (tokens charged and answered before the master died, lost from the ledger): ` +
        `redis_wait_replicas 0: ${off.lost} of ${off.acked} lost; redis_wait_replicas 1: ${on.lost} of ${on.acked} lost`,
    );
    expect(off.acked).toBeGreaterThan(0);
    expect(off.lost).toBe(off.acked); // asynchronous replication: acknowledged, then gone with the master
    expect(on.acked).toBeGreaterThan(0);
    expect(on.lost).toBe(0);
  }, 90_000);

  it('the master hangs (connections stay open): the instance moves to the new master on the sentinels\' word', async () => {
    await healthy();
    const { gateways, close } = await instances(1, 0);
    const [gw] = gateways;
    try {
      const key = await gw.team('hung');
      expect((await generate(gw, key)).status).toBe(200);
      const master = await setup.currentMaster();
      // SIGSTOP: the kernel still accepts connections to it, nothing ever answers or closes them.
      const hungAt = performance.now();
      master.proc.kill('SIGSTOP');
      try {
        const promoted = await setup.failedOver(master.port);
        const namedMs = performance.now() - hungAt;
        await vi.waitFor(async () => expect((await generate(gw, key)).status).toBe(200), { timeout: 20_000, interval: 50 });
        console.log(`hung master: sentinels named ${promoted.port} after ${Math.round(namedMs)} ms; served again after ${Math.round(performance.now() - hungAt)} ms`);
      } finally {
        await master.kill();
      }
    } finally {
      await close();
    }
  }, 60_000);

  it('the replica falls behind and catches up, no failover: the unconfirmed settlements leave the journal without being settled again', async () => {
    await healthy();
    const { sim, gateways, close } = await instances(1, 1);
    const [gw] = gateways;
    try {
      const key = await gw.team('behind');
      const master = await setup.currentMaster();
      const replica = setup.dataNodes().find((n) => n !== master)!;
      await redisCli(replica.port, 'config', 'set', 'masterauth', 'not-the-password');
      await redisCli(replica.port, 'client', 'kill', 'type', 'master');
      await until('replica cut off', async () => infoField(await redisCli(master.port, 'info', 'replication'), 'connected_slaves') === '0');
      const answers = await Promise.all(Array.from({ length: 5 }, () => generate(gw, key)));
      for (const answer of answers) expect(answer.status).toBe(200);
      const { journal } = gw.app.services;
      expect(journal.size).toBe(5);
      expect(journal.has('behind')).toBe(false); // nothing holds the team back meanwhile
      await redisCli(replica.port, 'config', 'set', 'masterauth', '');
      await vi.waitFor(() => expect(journal.size).toBe(0), { timeout: 10_000, interval: 50 });
      expect(journal.replayed).toBe(0);
      expect(await ledgerSpent(gw, 'behind')).toBe(sim.tokensCharged());
    } finally {
      await close();
    }
  }, 60_000);
});
