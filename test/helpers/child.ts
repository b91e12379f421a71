// Runs the real CLI (`elumenta-gateway serve`) as a child process, from the TypeScript
// sources, and reads the URL it logs when it listens. For tests of what only a process can
// show: kill -9 durability, SIGTERM draining, boot failures.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface ChildGateway {
  proc: ChildProcess;
  url: string;
  output: () => string;
}

export const CLI = ['--import', 'tsx', 'src/cli/index.ts'];

export function runCli(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [...CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export async function startChildGateway(env: Record<string, string>): Promise<ChildGateway> {
  const proc = runCli(['serve'], { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)".*elumenta-gateway listening/.exec(out);
      if (match) resolve(match[1]);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.once('exit', (code) => reject(new Error(`gateway exited with ${code} before listening:\n${out}`)));
  });
  return { proc, url, output: () => out };
}

export async function exitOf(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  const [code] = (await once(proc, 'exit')) as [number | null];
  return code;
}
