// `npm run bench`: the gateway's cost per request next to bare references, in one run. Starts
// the simulator and every server in processes of their own, drives them with autocannon, and
// prints a table, the ratios and the targets (never failing on a missed target).
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { checkoutBaseline, type Baseline } from './baseline.js';
import { startServer, type ServerProcess } from './processes.js';
import { startCluster, type ClusterSetup } from '../test/helpers/redis-cluster.js';
import { measureOverview, seedTeams } from './console-render.js';
import { printReport, writeResults, type Check } from './report.js';
import { Bench, burst, hitPath, missPath, repeated, type Row, type Target } from './scenarios.js';
import { readSettings, type Settings } from './settings.js';

const SIM_KEY = 'nb_sim_demo_key';
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
const settings = readSettings();
const started = new Date();
const loadAtStart = loadavg()[0];
const profileDir = settings.cpuProfile ? `${resultsDir}profiles-${started.toISOString().replace(/[:.]/g, '-')}` : undefined;
const running = new Set<ServerProcess>();
const rows: Row[] = [];
const notes: string[] = [];
const extraChecks: Check[] = [];

const want = (part: Settings['scenarios'][number]) => settings.scenarios.includes(part);
const step = (text: string) => console.error(`[bench ${((Date.now() - started.getTime()) / 1000).toFixed(0)}s] ${text}`);

async function start(name: string, script: string, args: unknown, env?: Record<string, string>): Promise<ServerProcess> {
  const server = await startServer(name, script, args, { cpuProfileDir: profileDir, env });
  running.add(server);
  return server;
}

async function stop(server: ServerProcess): Promise<void> {
  running.delete(server);
  await server.close();
}

/** A gateway process with two teams: `bench` (a monthly budget, the default period, that no run exhausts) and `broke` (budget 0). */
/** The Redis Cluster of the `cluster` backend, started once for the run. */
let cluster: ClusterSetup | undefined;

async function startGateway(name: string, backend: Settings['backends'][number], sim: ServerProcess, script = 'gateway.ts', env?: Record<string, string>) {
  if (backend === 'cluster') cluster ??= await startCluster();
  const redisUrl = backend === 'cluster' ? cluster!.url : settings.redisUrl;
  const adminToken = randomBytes(24).toString('hex');
  const gatewayConfig = process.env.BENCH_GATEWAY_CONFIG ? JSON.parse(process.env.BENCH_GATEWAY_CONFIG) : undefined;
  const server = await start(name, script, {
    backend: backend === 'sqlite' ? 'sqlite' : 'redis', redisUrl, upstream: sim.url, upstreamKey: SIM_KEY, adminToken, config: gatewayConfig,
  }, env);
  const admin = async (path: string, body: unknown) => {
    const res = await fetch(server.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`${name}: POST ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { key?: string };
  };
  await admin('/admin/teams', {
    name: 'bench', budget: { tokens: 1_000_000_000_000, period: 'month' }, rate_limit: { requests_per_minute: 1_000_000_000 },
  });
  await admin('/admin/teams', { name: 'broke', budget: { tokens: 0, period: 'total' } });
  const paying: Target = { server, key: (await admin('/admin/teams/bench/keys', {})).key! };
  const broke: Target = { server, key: (await admin('/admin/teams/broke/keys', {})).key! };
  return { server, paying, broke, adminToken };
}

async function references(bench: Bench, sim: ServerProcess): Promise<void> {
  step('reference: the simulator answered directly');
  rows.push(await missPath(bench, 'reference', 'upstream direct', { server: sim, key: SIM_KEY }));
  step('reference: bare @fastify/http-proxy forward');
  const proxy = await start('bare-proxy', 'bare-proxy.ts', { upstream: sim.url });
  rows.push(await missPath(bench, 'reference', 'bare http-proxy', { server: proxy, key: SIM_KEY }));
  await stop(proxy);
  step('reference: bare sha256 + Map route');
  const map = await start('bare-map', 'bare-map.ts', {});
  const target = { server: map, key: SIM_KEY };
  rows.push(await bench.measure('reference', 'bare sha256+Map', target, repeated('map', settings.hitPrompts)));
  await stop(map);
}

/** This gateway, an earlier one (`baseline`), or this one exporting traces to `traceSink`. */
async function gateway(
  bench: Bench, sim: ServerProcess, backend: Settings['backends'][number], variant: { baseline?: Baseline; traceSink?: ServerProcess } = {},
): Promise<void> {
  const { baseline, traceSink } = variant;
  const suffix = baseline ? ` @${baseline.ref}` : traceSink ? ' +traces' : '';
  const group = `gateway ${backend}${suffix}`;
  // Every span exported, as soon as the batch processor allows: the most a traced gateway pays.
  const env = traceSink && { OTEL_EXPORTER_OTLP_ENDPOINT: traceSink.url, OTEL_TRACES_SAMPLER: 'always_on' };
  let gw;
  try {
    gw = await startGateway(`gateway-${backend}${suffix.replace(/[^\w.-]/g, '_')}`, backend, sim, baseline?.gatewayScript, env);
  } catch (err) {
    notes.push(`${group} skipped: ${(err as Error).message}`);
    return;
  }
  if (want('miss')) {
    step(`${group}: miss path`);
    rows.push(await missPath(bench, group, 'miss', gw.paying));
  }
  if (want('hit')) {
    step(`${group}: hit path`);
    rows.push(await hitPath(bench, group, gw.paying));
  }
  if (want('burst')) {
    step(`${group}: coalescing burst`);
    rows.push(await burst(bench, group, gw.paying));
  }
  if (want('reject')) {
    step(`${group}: quota rejection`);
    rows.push(await missPath(bench, group, 'quota reject', gw.broke));
  }
  await stop(gw.server);
}

async function memoryRun(bench: Bench, sim: ServerProcess): Promise<void> {
  const { memoryRequests: amount, memoryPrompts: prompts } = settings;
  // Whatever the run's time budget leaves (keeping some for shutdown and the report), at least 30 s.
  const elapsedS = (Date.now() - started.getTime()) / 1000;
  const memoryMaxS = settings.memoryMaxS ?? Math.max(30, Math.floor(settings.budgetS - elapsedS - 10));
  step(`memory run: ${amount} requests over ${prompts} distinct prompts (at most ${memoryMaxS} s)`);
  const gw = await startGateway('gateway-memory', 'sqlite', sim);
  const name = `${amount} req / ${prompts} prompts`;
  const row = await bench.measure('memory', name, gw.paying, repeated('memory', prompts), {
    amount, maxSeconds: memoryMaxS, warmup: false,
  });
  if (row.load.requests < amount) row.note = `stopped after ${memoryMaxS} s (BENCH_MEMORY_MAX_S / BENCH_BUDGET_S): ${row.load.requests} of ${amount} requests done`;
  rows.push(row);
  await stop(gw.server);
}

/** The console's overview of `consoleTeams` teams, loaded in chromium: target under 300 ms. */
async function consoleRender(sim: ServerProcess): Promise<void> {
  const { consoleTeams: teams, consoleLoads: loads } = settings;
  step(`console: overview of ${teams} teams, ${loads} timed loads in chromium`);
  const gw = await startGateway('gateway-console', 'sqlite', sim);
  try {
    await seedTeams(gw.server.url, gw.adminToken, teams);
    const f = await measureOverview(gw.server.url, gw.adminToken, teams, loads);
    extraChecks.push({
      label: `console overview of ${f.teams} teams renders < 300 ms`,
      verdict: f.medianMs < 300 ? 'PASS' : 'MISS',
      detail: `median ${f.medianMs.toFixed(0)} ms, p90 ${f.p90Ms.toFixed(0)} ms, max ${f.maxMs.toFixed(0)} ms over ${f.loads} loads, navigation start to drawn (median ${f.dataMedianMs.toFixed(0)} ms to the data in hand, then ${f.drawMedianMs.toFixed(0)} ms to draw)`,
    });
  } catch (err) {
    notes.push(`console render skipped: ${(err as Error).message}`);
  }
  await stop(gw.server);
}

async function main(): Promise<void> {
  step(`settings: ${JSON.stringify(settings)}`);
  const sim = await start('simulator', 'simulator.ts', { latencyMs: settings.simLatencyMs });
  const bench = new Bench(settings, sim);
  if (want('references')) await references(bench, sim);
  if (settings.scenarios.some((s) => s !== 'references' && s !== 'memory')) {
    const baselines: Baseline[] = [];
    try {
      for (const ref of settings.baselines) baselines.push(checkoutBaseline(ref));
      for (const backend of settings.backends) {
        for (const baseline of baselines) await gateway(bench, sim, backend, { baseline });
        await gateway(bench, sim, backend);
        if (settings.traces) {
          const traceSink = await start('otlp-sink', 'otlp-sink.ts', {});
          await gateway(bench, sim, backend, { traceSink });
          await stop(traceSink);
        }
      }
    } finally {
      for (const baseline of baselines) baseline.remove();
    }
  }
  if (want('console')) await consoleRender(sim);
  if (want('memory') && settings.memoryRequests > 0) await memoryRun(bench, sim);
  await stop(sim);

  notes.push('CPU us/req counts the measured server process only (not autocannon, the simulator, or Redis).');
  notes.push(`load average (1 min) at start ${loadAtStart.toFixed(2)}, at end ${loadavg()[0].toFixed(2)}, on ${cpus().length} cores: other work on the machine moves req/s more than CPU us/req`);
  if (profileDir) notes.push(`CPU profiles of the server processes: ${profileDir}`);
  const { ratios, checks } = printReport(rows, settings, notes, extraChecks);
  const finished = new Date();
  const file = writeResults(resultsDir, {
    started: started.toISOString(), finished: finished.toISOString(),
    elapsedS: (finished.getTime() - started.getTime()) / 1000, settings, rows, ratios, checks, notes,
  });
  console.log(`\nResults: ${file} (${((finished.getTime() - started.getTime()) / 1000).toFixed(0)} s)`);
}

process.once('SIGINT', () => {
  for (const server of running) void server.close();
  process.exitCode = 130;
});
try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await Promise.all([...running].map((server) => server.close().catch(() => {})));
  await cluster?.stop();
}
