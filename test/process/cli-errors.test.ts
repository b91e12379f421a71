// Regressions in the CLI: an unreachable gateway printed `TypeError: fetch failed` with a stack
// trace; `keys issue ml --expires-at tomorrow` printed `422: Invalid request body` without the
// field; `status` without --url exited 0 with `token_balance: null`; `teams delete` printed
// `null` (`teams update --budget` keeping the period: test/process/cli.test.ts). Each failure is now
// one line on stderr naming the field or the URL, with a non-zero exit.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildCli, cliArgs } from '../helpers/child.js';

const exec = promisify(execFile);

async function run(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await exec(process.execPath, cliArgs(args), { env: { PATH: process.env.PATH ?? '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Each case runs the built CLI (dist/, compiled here if stale) as a process a few times.
beforeAll(buildCli, BUILD_TIMEOUT_MS);

describe('CLI errors are one line with a non-zero exit', () => {
  const store = () => ({ STORE_URL: `sqlite:${join(mkdtempSync(join(tmpdir(), 'egw-clierr-')), 'gw.db')}` });

  it('an unreachable gateway names the URL, without a stack trace', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const res = await run(['--url', url, 'teams', 'list'], { GATEWAY_ADMIN_TOKEN: 'x'.repeat(24) });
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain(`cannot reach the gateway at ${url}: ECONNREFUSED`);
    expect(res.stderr).not.toMatch(/TypeError|at .*\.js/);
  });

  it('keys issue --expires-at tomorrow names the field', async () => {
    const env = store();
    expect((await run(['teams', 'create', 'ml', '--budget', '100'], env)).code).toBe(0);
    const res = await run(['keys', 'issue', 'ml', '--expires-at', 'tomorrow'], env);
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^elumenta-gateway: 422 validation_error: .*\(expires_at: must match format "date-time"\)/);
  });

  it('status without --url fails, saying it needs a running gateway (no exit 0 with token_balance: null)', async () => {
    const res = await run(['status'], store());
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/needs a running gateway: pass --url/);
  });

  it('teams delete says what it did', async () => {
    const env = store();
    await run(['teams', 'create', 'ml', '--budget', '100'], env);
    const deleted = await run(['teams', 'delete', 'ml'], env);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout.trim()).toBe('deleted team ml; its keys are revoked, its ledger rows are kept');
  });
});
