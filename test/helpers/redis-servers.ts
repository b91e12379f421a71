// Starts real Redis servers on free ports in temp dirs, for tests and the benchmark: the process
// helpers every shape uses (the Cluster: ./redis-cluster.ts), and a Sentinel setup (a master, a
// replica, three sentinels), ready once the replica is in sync and the sentinels know each other.
// A failover test kills the Sentinel master, waits for the failover and revives it as a replica.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const HOST = '127.0.0.1';
export const SENTINEL_MASTER = 'egwmaster';

export interface RedisProcess {
  port: number;
  proc: ChildProcess;
  /** Kills the process (SIGKILL: a crash, not a shutdown) and waits for it to exit. */
  kill(): Promise<void>;
  /** Asks the process to stop (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

export interface SentinelSetup {
  /** `redis+sentinel://...` for STORE_URL. */
  url: string;
  master: RedisProcess;
  replica: RedisProcess;
  sentinels: RedisProcess[];
  /** The port of the master the sentinels currently name. */
  currentMasterPort(): Promise<number>;
  /** The two data nodes as they run now (the master and the replica, in either role). */
  dataNodes(): RedisProcess[];
  /** The data node the sentinels currently name master. */
  currentMaster(): Promise<RedisProcess>;
  /** Waits until the sentinels name a master other than the one on `port`, and it says it is one. */
  failedOver(port: number): Promise<RedisProcess>;
  /** Starts a stopped data node again on its port, as a replica of the current master; waits until it is in sync and the sentinels count it as a sound replica. */
  revive(node: RedisProcess): Promise<RedisProcess>;
  stop(): Promise<void>;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (port + 10000) is free too. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await isFree(port)) && (await isFree(port + 10_000))) return port;
  }
}

/** A field of an INFO reply (`name:value` lines), or undefined. */
export function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', HOST, '-p', String(port), ...args]);
  return stdout.trim();
}

export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`redis-servers: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startProcess(dir: string, args: string[], port: number): Promise<RedisProcess> {
  const proc = spawn('redis-server', args, { cwd: dir, stdio: 'ignore' });
  proc.once('error', () => {});
  await until(`redis on ${port}`, async () => (await redisCli(port, 'ping')) === 'PONG');
  const signal = async (sig: NodeJS.Signals) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(sig);
    await once(proc, 'exit');
  };
  return { port, proc, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}

export function serverArgs(dir: string, port: number, extra: string[] = []): string[] {
  return ['--port', String(port), '--bind', HOST, '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...extra];
}

export async function startSentinelSetup(): Promise<SentinelSetup> {
  const dir = await mkdtemp(join(tmpdir(), 'egw-sentinel-'));
  const [mPort, rPort] = [await freePort(), await freePort()];
  // No 5 s wait before the first full sync (Redis 7's diskless default).
  const noDelay = ['--repl-diskless-sync-delay', '0'];
  const master = await startProcess(dir, serverArgs(dir, mPort, ['--dbfilename', 'm.rdb', ...noDelay]), mPort);
  const replica = await startProcess(dir, serverArgs(dir, rPort, ['--dbfilename', 'r.rdb', ...noDelay, '--replicaof', HOST, String(mPort)]), rPort);
  await until('replica in sync', async () => (await redisCli(rPort, 'info', 'replication')).includes('master_link_status:up'));
  const sentinels: RedisProcess[] = [];
  for (let n = 0; n < 3; n++) {
    const port = await freePort();
    const conf = join(dir, `sentinel-${n}.conf`);
    // Sentinel rewrites its config file: each needs a file of its own.
    await writeFile(
      conf,
      [
        `port ${port}`, `bind ${HOST}`, `dir ${dir}`, 'protected-mode no',
        `sentinel monitor ${SENTINEL_MASTER} ${HOST} ${mPort} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
        `sentinel failover-timeout ${SENTINEL_MASTER} 5000`,
        `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
        '',
      ].join('\n'),
    );
    sentinels.push(await startProcess(dir, [conf, '--sentinel'], port));
  }
  const field = (reply: string, name: string) => {
    const lines = reply.split('\n');
    return lines[lines.indexOf(name) + 1];
  };
  // A failover needs the sentinels to know each other and the replica (hello messages, every 2 s).
  await until('sentinels to know each other and the replica', async () => {
    for (const s of sentinels) {
      const info = await redisCli(s.port, 'sentinel', 'master', SENTINEL_MASTER);
      if (field(info, 'num-other-sentinels') !== '2' || field(info, 'num-slaves') !== '1') return false;
    }
    return true;
  });
  const nodes = sentinels.map((s) => `${HOST}:${s.port}`).join(',');
  const data = [master, replica];
  const currentMasterPort = async () => {
    const reply = await redisCli(sentinels[0].port, 'sentinel', 'get-master-addr-by-name', SENTINEL_MASTER);
    return Number(reply.split('\n')[1]);
  };
  const byPort = (port: number) => {
    const node = data.find((n) => n.port === port);
    if (!node) throw new Error(`redis-servers: no data node on ${port}`);
    return node;
  };
  return {
    url: `redis+sentinel://${nodes}/${SENTINEL_MASTER}`,
    master,
    replica,
    sentinels,
    currentMasterPort,
    dataNodes: () => [...data],
    currentMaster: async () => byPort(await currentMasterPort()),
    async failedOver(port) {
      let next = 0;
      await until('a failover', async () => {
        for (const s of sentinels) {
          const reply = await redisCli(s.port, 'sentinel', 'get-master-addr-by-name', SENTINEL_MASTER);
          next = Number(reply.split('\n')[1]);
          if (next === port) return false;
        }
        return infoField(await redisCli(next, 'info', 'replication'), 'role') === 'master';
      });
      return byPort(next);
    },
    async revive(node) {
      const masterPort = await currentMasterPort();
      const name = node === master ? 'm.rdb' : 'r.rdb';
      const args = serverArgs(dir, node.port, ['--dbfilename', name, ...noDelay, '--replicaof', HOST, String(masterPort)]);
      const revived = await startProcess(dir, args, node.port);
      data[data.indexOf(node)] = revived;
      await until('revived replica in sync', async () => (await redisCli(node.port, 'info', 'replication')).includes('master_link_status:up'));
      // A sentinel elects only a replica it has seen answer lately (INFO refreshes every 10 s, PINGs every second).
      await until('sentinels to count the revived replica', async () => {
        for (const s of sentinels) {
          const reply = await redisCli(s.port, 'sentinel', 'replicas', SENTINEL_MASTER);
          const entries = reply.split('\n');
          const at = entries.findIndex((line, n) => line === 'port' && entries[n + 1] === String(node.port));
          if (at < 0) return false;
          const field = (name: string) => entries[entries.indexOf(name, at) + 1];
          if (field('flags') !== 'slave' || field('master-link-status') !== 'ok') return false;
        }
        return true;
      }, 30_000);
      return revived;
    },
    async stop() {
      await Promise.all([...sentinels, ...data].map((p) => p.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
