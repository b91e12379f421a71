// Runs the real CLI (`elumenta-gateway serve`, admin commands) as a child process, built as
// `npm start` runs it (dist/, plain node: tsx compiled the sources at every start, seconds
// apiece under load), and reads the URL it logs when it listens. For tests of what only a
// process can show: kill -9 durability, SIGTERM draining, boot failures, the CLI's output.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export interface ChildGateway {
  proc: ChildProcess;
  url: string;
  output: () => string;
}

const root = fileURLToPath(new URL('../../', import.meta.url));
let build: Promise<void> | undefined;
let built = false;

/**
 * Compiles dist/ if a source changed since it was built (scripts/build-if-stale.mjs: files
 * started together build once). Every file that runs the CLI calls it in `beforeAll`, with a
 * timeout for a compile (`cliArgs` refuses until then, so no test runs a stale build).
 */
export function buildCli(): Promise<void> {
  build ??= new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [`${root}scripts/build-if-stale.mjs`], (err, stdout, stderr) =>
      err ? reject(new Error(`building dist/ failed:\n${stdout}${stderr}`)) : resolve(),
    ),
  ).then(() => void (built = true));
  return build;
}
/** How long `buildCli` may take: a full compile, with other work on the machine. */
export const BUILD_TIMEOUT_MS = 180_000;

/** `node` arguments that run the built CLI with `args`. */
export function cliArgs(args: string[]): string[] {
  if (!built) throw new Error('call buildCli() in beforeAll before running the CLI');
  return [`${root}dist/cli/index.js`, ...args];
}

/**
 * Children still running: a test that fails before it stops its child must not leave a gateway
 * behind. Registered when a test file imports this module, so it runs after that file's tests.
 */
const running = new Set<ChildProcess>();
afterAll(() => {
  for (const proc of running) proc.kill('SIGKILL');
});

export function runCli(args: string[], env: Record<string, string>): ChildProcess {
  const proc = spawn(process.execPath, cliArgs(args), {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  return proc;
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
