// The process: SIGTERM lets an in-flight request finish (and settle) before exiting 0, and
// a gateway missing its secrets stops at once with one clear line naming what is missing.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSqliteQuotaStore } from '../../src/quota/sqlite-quota-store.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { openStore, type SqliteConnection } from '../../src/store/connection.js';
import { BUILD_TIMEOUT_MS, buildCli, exitOf, runCli, startChildGateway } from '../helpers/child.js';
import { call } from '../helpers/gateway.js';

// The gateway runs as `npm start` runs it: the built CLI (dist/, compiled here if stale).
beforeAll(buildCli, BUILD_TIMEOUT_MS);

describe('process lifecycle', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ latencyMs: 1_500 });
  });
  afterAll(async () => sim.close());

  it('SIGTERM drains the in-flight request, settles it, and exits 0', async () => {
    const adminToken = randomBytes(24).toString('hex');
    const dbPath = join(mkdtempSync(join(tmpdir(), 'egw-life-')), 'gw.db');
    const child = await startChildGateway({
      ELUMENTA_API_KEY: sim.apiKey,
      ELUMENTA_BASE_URL: sim.url,
      GATEWAY_ADMIN_TOKEN: adminToken,
      STORE_URL: `sqlite:${dbPath}`,
    });
    const admin = { authorization: `Bearer ${adminToken}` };
    await call(child.url, 'POST', '/admin/teams', { headers: admin, body: { name: 'ml', budget: { tokens: 100 } } });
    const { key } = (await call(child.url, 'POST', '/admin/teams/ml/keys', { headers: admin, body: {} })).json();

    const inflight = call(child.url, 'POST', '/api/v2/generate', { key, body: { model: 'gpt-5', prompt: 'drain me' } });
    await vi.waitFor(() => expect(sim.totalGenerateCalls()).toBe(1), { timeout: 5_000, interval: 10 });
    child.proc.kill('SIGTERM');
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(res.json().status).toBe('completed');
    expect(await exitOf(child.proc)).toBe(0);
    expect(child.output()).toMatch(/finishing in-flight requests/);
    const conn = await openStore(`sqlite:${dbPath}`);
    const rows = await createSqliteQuotaStore(conn as SqliteConnection).ledger('2000-01-01', '2999-12-31');
    await conn.close();
    expect(rows.map((r) => r.tokens_spent)).toEqual([res.json().tokens_spent]);
  });

  it('SIGTERM exits 0 when stdout is a closed pipe (serve | head -2)', async () => {
    const child = await startChildGateway({
      ELUMENTA_API_KEY: sim.apiKey,
      ELUMENTA_BASE_URL: sim.url,
      GATEWAY_ADMIN_TOKEN: randomBytes(24).toString('hex'),
      STORE_URL: `sqlite:${join(mkdtempSync(join(tmpdir(), 'egw-pipe-')), 'gw.db')}`,
    });
    // Ready and idle: nothing in flight delays the exit behind the shutdown's own log lines.
    await vi.waitFor(async () => expect((await call(child.url, 'GET', '/readyz')).status).toBe(200), { timeout: 10_000 });
    // The reader is gone, as when `head -2` has its two lines.
    await new Promise((resolve) => child.proc.stdout!.once('close', resolve).destroy());
    // Its first write to the broken pipe is the shutdown's own log line, right before exiting.
    child.proc.kill('SIGTERM');
    const hung = new Promise((resolve) => setTimeout(resolve, 10_000, 'still running 10 s after SIGTERM').unref());
    try {
      expect(await Promise.race([exitOf(child.proc), hung])).toBe(0);
    } finally {
      child.proc.kill('SIGKILL'); // a no-op once it has exited
    }
    expect(child.output()).toMatch(/elumenta-gateway listening/);
  });

  it('without ELUMENTA_API_KEY and GATEWAY_ADMIN_TOKEN it stops at once, naming both', async () => {
    const proc = runCli(['serve'], { PORT: '0' });
    let err = '';
    proc.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    expect(await exitOf(proc)).toBe(1);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/ELUMENTA_API_KEY.*GATEWAY_ADMIN_TOKEN/);
  });
});
