// `elumenta-gateway usage`: the same report from the CLI, straight from the store (no gateway
// running) and over HTTP to a running gateway; --format csv prints CSV that parses back.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type StoreConnection } from '../../src/store/connection.js';
import { BUILD_TIMEOUT_MS, buildCli, cliArgs } from '../helpers/child.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { parseCsv } from './csv.js';

const exec = promisify(execFile);

async function cli(args: string[], env: Record<string, string>): Promise<string> {
  const { stdout } = await exec(process.execPath, cliArgs(args), { env: { PATH: process.env.PATH ?? '', ...env } });
  return stdout;
}

// The built CLI (dist/, compiled here if stale), as a process.
beforeAll(buildCli, BUILD_TIMEOUT_MS);

describe('elumenta-gateway usage', () => {
  let dir: string;
  let store: StoreConnection;
  let gw: TestGateway;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'egw-usage-cli-'));
    store = await openStore(`sqlite:${join(dir, 'gw.db')}`);
    gw = await startGateway({ store });
    const ml = await gw.team('ml');
    const web = await gw.team('web');
    await gw.api('POST', '/api/v2/generate', ml, { model: 'gpt-5', prompt: 'a' });
    await gw.api('POST', '/api/v2/generate', ml, { model: 'dall-e-3', prompt: 'b' });
    await gw.api('POST', '/api/v2/generate', web, { model: 'gpt-5', prompt: 'c' });
  });
  afterAll(async () => {
    await gw.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the ledger straight from the store, as JSON and as CSV', async () => {
    const env = { STORE_URL: `sqlite:${join(dir, 'gw.db')}` };
    const json = JSON.parse(await cli(['usage'], env));
    expect(json.group_by).toEqual(['team']);
    expect(json.rows.map((r: { team: string; tokens_spent: number }) => [r.team, r.tokens_spent])).toEqual([
      ['ml', gw.sim.tokensCharged() - 2],
      ['web', 2],
    ]);
    const [header, ...records] = parseCsv(await cli(['usage', '--group-by', 'team,model', '--format', 'csv'], env));
    expect(header.slice(0, 4)).toEqual(['team', 'model', 'requests', 'tokens_spent']);
    expect(records.map((r) => r.slice(0, 3))).toEqual([
      ['ml', 'dall-e-3', '1'],
      ['ml', 'gpt-5', '1'],
      ['web', 'gpt-5', '1'],
    ]);
    const day = (await gw.admin('GET', '/admin/usage?group_by=day')).json().rows[0].day as string;
    const ranged = JSON.parse(await cli(['usage', '--from', day, '--to', day, '--group-by', 'day'], env));
    expect(ranged.rows).toEqual([expect.objectContaining({ day, requests: 3, tokens_spent: gw.sim.tokensCharged() })]);
  });

  it('prints the same report from a running gateway with --url', async () => {
    const env = { GATEWAY_ADMIN_TOKEN: gw.adminToken };
    const overHttp = JSON.parse(await cli(['--url', gw.url, 'usage', '--group-by', 'team,model'], env));
    const direct = (await gw.admin('GET', '/admin/usage?group_by=team,model')).json();
    expect(overHttp).toEqual(direct);
    await expect(cli(['--url', gw.url, 'usage', '--from', 'last-week'], env)).rejects.toThrow(/422.*from/);
  });
});
