// A real Prometheus (Debian's `prometheus` binary) scrapes the gateway every second, with the
// metrics token and the shipped alert rules; what it stores per team must equal the ledger
// and what the simulator charged. Skipped, saying why, only where the binary is missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
if (!hasPrometheus) {
  console.warn('skipping the real-Prometheus test: no `prometheus` binary (apt-get install -y prometheus installs it)');
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Asks until `check` returns a value (not undefined), for at most `ms`. */
async function eventually<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250)); // an outside process: nothing to inject
  }
}

describe.skipIf(!hasPrometheus)('a real Prometheus scraping the gateway', () => {
  const token = 'prometheus-test-metrics-token-42';
  let gw: TestGateway;
  let prom: ChildProcess;
  let promUrl: string;
  let dir: string;
  let promLog = '';

  beforeAll(async () => {
    gw = await startGateway({ config: { metrics: { token } } });
    dir = mkdtempSync(join(tmpdir(), 'egw-prom-'));
    copyFileSync('config/prometheus/alerts.yml', join(dir, 'alerts.yml'));
    const target = new URL(gw.url).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'rule_files: [alerts.yml]',
        'scrape_configs:',
        '  - job_name: elumenta-gateway',
        '    metrics_path: /metrics',
        `    authorization: { type: Bearer, credentials: "${token}" }`,
        `    static_configs: [{ targets: ["${target}"] }]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stdout!.on('data', (chunk: Buffer) => (promLog += chunk.toString()));
    prom.stderr!.on('data', (chunk: Buffer) => (promLog += chunk.toString()));
    await eventually('Prometheus to be ready', 20_000, async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined)).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${promLog}`);
      },
    );
  }, 30_000);

  afterAll(async () => {
    if (prom && prom.exitCode === null && prom.signalCode === null) {
      prom.kill('SIGTERM');
      await once(prom, 'exit');
    }
    await gw?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const query = async (promql: string) => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(`query failed: ${JSON.stringify(body)}`);
    return body.data.result;
  };

  it('sum by (team) of tokens spent equals the ledger and the simulator\'s charges', async () => {
    const ml = await gw.team('ml');
    const web = await gw.team('web');
    const tiny = await gw.team('tiny', { budget: { tokens: 1, period: 'day' } });
    for (let i = 0; i < 3; i++) expect((await gw.api('POST', '/api/v2/generate', ml, { model: 'gpt-5', prompt: `q${i}` })).status).toBe(200);
    expect((await gw.api('POST', '/api/v2/generate', ml, { model: 'dall-e-3', prompt: 'a cat' })).status).toBe(200);
    expect((await gw.api('POST', '/api/v2/generate', web, { model: 'gpt-5', prompt: 'w' })).status).toBe(200);
    expect((await gw.api('POST', '/api/v2/generate', web, { model: 'gpt-5', prompt: 'w [fail]' })).status).toBe(200);
    expect((await gw.api('POST', '/api/v2/generate', tiny, { model: 'dall-e-3', prompt: 'too dear' })).status).toBe(402);

    const rows = (await gw.admin('GET', '/admin/usage?group_by=team')).json().rows as Array<{ team: string; tokens_spent: number }>;
    const ledger = Object.fromEntries(rows.filter((r) => r.tokens_spent > 0).map((r) => [r.team, r.tokens_spent]));
    expect(Object.values(ledger).reduce((a, b) => a + b, 0)).toBe(gw.sim.tokensCharged());
    expect(Object.keys(ledger).sort()).toEqual(['ml', 'web']);

    const stored = await eventually('Prometheus to hold the spend per team', 30_000, async () => {
      const result = await query('sum by (team) (elumenta_gateway_tokens_spent_total)');
      const seen = Object.fromEntries(
        result.map((r) => [r.metric.team, Number(r.value[1])] as const).sort(([a], [b]) => (a < b ? -1 : 1)),
      );
      return JSON.stringify(seen) === JSON.stringify(ledger) ? seen : undefined;
    }).catch(async (err: Error) => {
      const seen = await query('sum by (team) (elumenta_gateway_tokens_spent_total)').catch(() => []);
      throw new Error(`${err.message}; Prometheus has ${JSON.stringify(seen)}, the ledger ${JSON.stringify(ledger)}\n${promLog}`);
    });
    expect(stored).toEqual(ledger);

    const rejected = await query('sum(elumenta_gateway_requests_total{outcome="quota_rejected"})');
    expect(Number(rejected[0]?.value[1])).toBe(1);
    const up = await query('up{job="elumenta-gateway"}');
    expect(up.map((r) => r.value[1])).toEqual(['1']);
    // The shipped alert rules load into a real Prometheus.
    const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: unknown[] }> } };
    expect(rules.data.groups.flatMap((g) => g.rules).length).toBeGreaterThanOrEqual(6);
  }, 60_000);
});
