// SIGTERM closes the store last: what the gateway still writes while closing (the savings it
// counted since its last flush, the settlement of a stream whose client left) reaches the
// ledger before the process exits, not a closed store.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSqliteQuotaStore } from '../../src/quota/sqlite-quota-store.js';
import type { LedgerRow } from '../../src/quota/quota-store.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { openStore, type SqliteConnection } from '../../src/store/connection.js';
import { BUILD_TIMEOUT_MS, buildCli, exitOf, startChildGateway, type ChildGateway } from '../helpers/child.js';
import { call } from '../helpers/gateway.js';
import { openStream } from '../stream/sse-client.js';

beforeAll(buildCli, BUILD_TIMEOUT_MS);

async function ledgerOf(dbPath: string): Promise<LedgerRow[]> {
  const conn = await openStore(`sqlite:${dbPath}`);
  try {
    return await createSqliteQuotaStore(conn as SqliteConnection).ledger('2000-01-01', '2999-12-31');
  } finally {
    await conn.close();
  }
}

const sum = (rows: LedgerRow[], field: 'hits' | 'tokens_saved' | 'tokens_spent') => rows.reduce((n, r) => n + Number(r[field]), 0);

describe('SIGTERM, then the ledger', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ streamChunkDelayMs: 100 });
  });
  afterAll(async () => sim.close());

  async function start(): Promise<{ child: ChildGateway; dbPath: string; key: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'egw-order-'));
    // Savings are flushed on close only, so the test does not race the timer.
    writeFileSync(join(dir, 'gateway.yaml'), 'metrics:\n  ledger_flush_ms: 600000\n');
    const adminToken = randomBytes(24).toString('hex');
    const dbPath = join(dir, 'gw.db');
    const child = await startChildGateway({
      ELUMENTA_API_KEY: sim.apiKey,
      ELUMENTA_BASE_URL: sim.url,
      GATEWAY_ADMIN_TOKEN: adminToken,
      GATEWAY_CONFIG: join(dir, 'gateway.yaml'),
      STORE_URL: `sqlite:${dbPath}`,
    });
    const admin = { authorization: `Bearer ${adminToken}` };
    await call(child.url, 'POST', '/admin/teams', { headers: admin, body: { name: 'ml', budget: { tokens: 1000 } } });
    const { key } = (await call(child.url, 'POST', '/admin/teams/ml/keys', { headers: admin, body: {} })).json();
    return { child, dbPath, key };
  }

  it('keeps the savings counted since the last flush', async () => {
    const { child, dbPath, key } = await start();
    const body = { model: 'gpt-5', prompt: 'saved before shutdown' };
    expect((await call(child.url, 'POST', '/api/v2/generate', { key, body })).headers['x-gateway-cache']).toBe('miss');
    expect((await call(child.url, 'POST', '/api/v2/generate', { key, body })).headers['x-gateway-cache']).toBe('hit');
    child.proc.kill('SIGTERM');
    expect(await exitOf(child.proc)).toBe(0);
    const rows = await ledgerOf(dbPath);
    expect(sum(rows, 'tokens_spent')).toBe(2);
    // On main: 0 and 0, the store was closed before the savings' last flush.
    expect(sum(rows, 'hits')).toBe(1);
    expect(sum(rows, 'tokens_saved')).toBe(2);
  });

  it("settles a stream whose client left before the process exits", async () => {
    const { child, dbPath, key } = await start();
    const charged = sim.tokensCharged();
    const s = await openStream(child.url, '/api/v2/generate/stream', key, { model: 'gpt-5', prompt: 'a b c d e f g h i j k l m n o p q r s t' });
    await s.next();
    expect((await s.next()).type).toBe('content_delta');
    s.abort(); // the gateway reads on to the end, to settle it
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.proc.kill('SIGTERM');
    expect(await exitOf(child.proc)).toBe(0);
    await vi.waitFor(() => expect(sim.tokensCharged() - charged).toBe(2));
    // On main: 0 in the ledger; the settlement met a closed store and went to the journal file for a next start.
    expect(sum(await ledgerOf(dbPath), 'tokens_spent')).toBe(2);
  });
});
