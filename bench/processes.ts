// The parent side of the process protocol: forks a bench/servers/* script under tsx, waits
// until it listens, asks it for its CPU time and memory, and closes it. Each server runs in
// its own process so its CPU can be measured apart from autocannon and the simulator.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ParentMessage, ProcessStats } from './protocol.js';

export interface ServerProcess {
  name: string;
  url: string;
  stats(): Promise<ProcessStats>;
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

export interface StartOptions {
  /** Write a V8 CPU profile of this process into this directory (node --cpu-prof). */
  cpuProfileDir?: string;
  /** Variables added to this process's environment. */
  env?: Record<string, string>;
}

export async function startServer(
  name: string,
  script: string,
  args: unknown,
  options: StartOptions = {},
): Promise<ServerProcess> {
  // A bare name is one of bench/servers; an absolute path is a baseline checkout's server.
  const path = isAbsolute(script) ? script : fileURLToPath(new URL(`./servers/${script}`, import.meta.url));
  const execArgv = ['--import', 'tsx'];
  // One directory per server: the tsx loader thread writes a profile of its own next to the main thread's.
  if (options.cpuProfileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${join(options.cpuProfileDir, name)}`);
  const child: ChildProcess = fork(path, [JSON.stringify(args)], {
    execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...options.env },
  });

  let nextId = 1;
  const waiting = new Map<number, (message: ChildMessage) => void>();
  child.on('message', (message: ChildMessage) => waiting.get(message.id)?.(message));
  const ask = (type: ParentMessage['type']) =>
    new Promise<ChildMessage>((resolve, reject) => {
      const id = nextId++;
      const onExit = () => reject(new Error(`${name} exited while asked for ${type}`));
      child.once('exit', onExit);
      waiting.set(id, (message) => {
        waiting.delete(id);
        child.off('exit', onExit);
        resolve(message);
      });
      child.send({ id, type } satisfies ParentMessage);
    });

  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    waiting.set(0, (message) => {
      clearTimeout(timer);
      if (message.type === 'ready') resolve(message.url);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening`));
    });
  });
  const url = await ready;
  return {
    name,
    url,
    async stats() {
      const message = await ask('stats');
      if (message.type !== 'stats') throw new Error(`${name}: unexpected answer ${message.type}`);
      const { cpu, rss, heapUsed, external, arrayBuffers } = message;
      return { cpu, rss, heapUsed, external, arrayBuffers };
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      await ask('close').catch(() => {});
      await exited;
    },
  };
}
