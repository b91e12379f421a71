// A Redis Cluster on free ports in a temp dir, for tests and the benchmark: three masters, and
// with `replicas: 1` a replica each. It waits until the cluster state is ok (and the replicas are
// in sync) and stops cleanly.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST, freePort, infoField, redisCli, run, serverArgs, startProcess, until, type RedisProcess } from './redis-servers.js';

export interface ClusterSetup {
  /** `redis+cluster://...` for STORE_URL. */
  url: string;
  nodes: RedisProcess[];
  /** Each master with its replica (none unless started with `replicas: 1`), as `CLUSTER NODES` says now. */
  shards(): Promise<Array<{ master: RedisProcess; replica: RedisProcess | null }>>;
  stop(): Promise<void>;
}

/**
 * Three masters; with `replicas: 1`, one replica each (6 nodes, started only where a test needs
 * them: the replicas' first sync makes it slower), in sync before it returns.
 */
export async function startCluster(options: { replicas?: 0 | 1 } = {}): Promise<ClusterSetup> {
  const replicas = options.replicas ?? 0;
  const dir = await mkdtemp(join(tmpdir(), 'egw-cluster-'));
  const nodes: RedisProcess[] = [];
  // No 5 s wait before a replica's first full sync (Redis 7's diskless default).
  const noDelay = replicas > 0 ? ['--repl-diskless-sync-delay', '0'] : [];
  for (let n = 0; n < 3 * (1 + replicas); n++) {
    const port = await freePort();
    const args = serverArgs(dir, port, [
      '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000',
      '--dbfilename', `${port}.rdb`, ...noDelay,
    ]);
    nodes.push(await startProcess(dir, args, port));
  }
  const addrs = nodes.map((n) => `${HOST}:${n.port}`);
  await run('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', String(replicas), '--cluster-yes']);
  await until('cluster state ok', async () => {
    for (const n of nodes) if (!(await redisCli(n.port, 'cluster', 'info')).includes('cluster_state:ok')) return false;
    return true;
  });
  const byPort = (port: number) => nodes.find((n) => n.port === port)!;
  const shards = async () => {
    // `<id> <ip:port@bus> <flags> <master id or -> ...` a line per node.
    const lines = (await redisCli(nodes[0].port, 'cluster', 'nodes')).split('\n').map((line) => line.split(' '));
    const port = (fields: string[]) => Number(/:(\d+)@/.exec(fields[1])![1]);
    return lines
      .filter((f) => f[2].includes('master'))
      .map((m) => {
        const replica = lines.find((f) => f[3] === m[0]);
        return { master: byPort(port(m)), replica: replica ? byPort(port(replica)) : null };
      });
  };
  if (replicas > 0) {
    await until('every master with a replica in sync', async () => {
      const found = await shards();
      if (found.length !== 3) return false;
      for (const { master, replica } of found) {
        if (!replica || infoField(await redisCli(replica.port, 'info', 'replication'), 'master_link_status') !== 'up') return false;
        // The master counts it for WAIT only once it is online there too.
        if (!infoField(await redisCli(master.port, 'info', 'replication'), 'slave0')?.includes('state=online')) return false;
      }
      return true;
    });
  }
  return {
    url: `redis+cluster://${addrs.join(',')}`,
    nodes,
    shards,
    async stop() {
      await Promise.all(nodes.map((p) => p.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
