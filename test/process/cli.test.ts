// The CLI's admin commands, both ways in: straight to the store (no gateway running) and
// over HTTP to a running gateway; the same answers either way.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildCli, cliArgs } from '../helpers/child.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const exec = promisify(execFile);

async function cli(args: string[], env: Record<string, string>) {
  const { stdout } = await exec(process.execPath, cliArgs(args), {
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  return JSON.parse(stdout);
}

// Each command is a child process running the built CLI (dist/, compiled here if stale).
beforeAll(buildCli, BUILD_TIMEOUT_MS);

describe('CLI', () => {
  it('runs as the README runs it, `npx elumenta-gateway` (the package bin, executed as a file)', async () => {
    // tsc writes dist/cli/index.js without the execute bit: npx then failed with "Permission denied".
    const { stdout } = await exec('npx', ['elumenta-gateway', '--version'], { cwd: fileURLToPath(new URL('../../', import.meta.url)) });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('manages teams and keys directly in the store', async () => {
    const env = { STORE_URL: `sqlite:${join(mkdtempSync(join(tmpdir(), 'egw-cli-')), 'gw.db')}` };
    const team = await cli(['teams', 'create', 'ml', '--budget', '5000', '--period', 'week', '--rpm', '30'], env);
    expect(team).toMatchObject({ name: 'ml', budget: { tokens: 5000, period: 'week' }, rate_limit: { requests_per_minute: 30 } });
    const issued = await cli(['keys', 'issue', 'ml', '--label', 'batch'], env);
    expect(issued.key).toMatch(/^nb_gw_/);
    const listed = await cli(['keys', 'list', '--team', 'ml'], env);
    expect(listed.keys).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(issued.key);
    const revoked = await cli(['keys', 'revoke', issued.id], env);
    expect(revoked.revoked_at).toBeTruthy();
    // Regression: --budget alone turned a weekly budget into a monthly one.
    const updated = await cli(['teams', 'update', 'ml', '--budget', '9000'], env);
    expect(updated.budget).toEqual({ tokens: 9000, period: 'week' });
  });

  it('creates, lists and revokes admin tokens directly in the store, audited as the cli', async () => {
    const env = { STORE_URL: `sqlite:${join(mkdtempSync(join(tmpdir(), 'egw-cli-')), 'gw.db')}` };
    const token = await cli(['tokens', 'create', 'grafana', '--role', 'viewer'], env);
    expect(token).toMatchObject({ name: 'grafana', role: 'viewer', token: expect.stringMatching(/^egw_adm_/) });
    const tokens = await cli(['tokens', 'list'], env);
    expect(tokens.tokens.map((t: { name: string }) => t.name)).toEqual(['grafana']);
    expect(JSON.stringify(tokens)).not.toContain(token.token);
    expect((await cli(['tokens', 'revoke', token.id], env)).revoked_at).toBeTruthy();
    const audit = await cli(['audit'], env);
    expect(audit.entries.map((e: { actor: string; action: string }) => `${e.actor} ${e.action}`)).toEqual([
      'cli token.create',
      'cli token.revoke',
    ]);
    expect(JSON.stringify(audit)).not.toContain(token.token);
  });

  describe('over HTTP', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway();
    });
    afterAll(async () => gw.close());

    it('talks to a running gateway with --url and the admin token', async () => {
      const env = { GATEWAY_ADMIN_TOKEN: gw.adminToken };
      await cli(['--url', gw.url, 'teams', 'create', 'web', '--budget', '100', '--period', 'day'], env);
      const issued = await cli(['--url', gw.url, 'keys', 'issue', 'web'], env);
      expect((await gw.api('GET', '/api/v2/balance', issued.key)).status).toBe(200);
      const got = await cli(['--url', gw.url, 'teams', 'get', 'web'], env);
      expect(got.usage).toMatchObject({ budget: 100, spent: 0 });
      await expect(cli(['--url', gw.url, 'teams', 'list'], { GATEWAY_ADMIN_TOKEN: 'wrong-token-value' })).rejects.toThrow(/401/);
    });

    it('creates a viewer token whose holder reads but cannot change anything', async () => {
      const env = { GATEWAY_ADMIN_TOKEN: gw.adminToken };
      const viewer = { GATEWAY_ADMIN_TOKEN: (await cli(['--url', gw.url, 'tokens', 'create', 'reader', '--role', 'viewer'], env)).token };
      expect((await cli(['--url', gw.url, 'teams', 'list'], viewer)).teams.map((t: { name: string }) => t.name)).toContain('web');
      await expect(cli(['--url', gw.url, 'teams', 'delete', 'web'], viewer)).rejects.toThrow(/403/);
    });
  });
});
