// A redis-server of the test's own on a free port (never the shared one at 6379 that other
// tests use), for tests that stop Redis mid-run. With `dir`, it keeps an append-only file
// there (fsync on every write), so a restart on the same port finds the data as it was.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../../src/store/connection.js';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

export class OwnRedis {
  proc: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly dir: string | null,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(options: { dir?: string } = {}): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort(), options.dir ?? null);
    await redis.restart();
    return redis;
  }

  /** Starts redis-server (again, on the same port) and waits, at most 10 s, until it accepts a connection. */
  async restart(): Promise<void> {
    const persistence = this.dir ? ['--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
    this.proc = spawn('redis-server', ['--port', String(this.port), '--save', '', ...persistence, '--daemonize', 'no'], {
      stdio: 'ignore',
    });
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        const probe = await openStore(this.url);
        await probe.close();
        return;
      } catch {
        await sleep(100);
      }
    }
    this.proc.kill('SIGKILL');
    throw new Error('redis-server did not start within 10 s');
  }

  /** Stops it (SIGTERM: the append-only file is flushed) and waits for the process to end. */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    await once(proc, 'exit');
  }
}
