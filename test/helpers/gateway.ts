// Starts what a test needs over real ports: the bundled simulator as upstream and a gateway
// in front of it on a real store (a temp SQLite file or a Redis prefix of its own), plus
// small helpers to call both. Every test builds the gateway through here.
import { randomBytes } from 'node:crypto';
import type { Tracer } from '@opentelemetry/api';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { request as httpRequest } from 'undici';
import type { Sleep } from '../../src/alerts/webhook-sender.js';
import { buildApp } from '../../src/app.js';
import type { Clock, Timers } from '../../src/clock.js';
import { deepMerge, parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { StoreConnection } from '../../src/store/connection.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { cleanup, reopen, storeBackends, type Backend } from './backends.js';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function call(
  url: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | Buffer | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await httpRequest(url + path, { method: method as 'GET', headers, body });
  const text = await res.body.text();
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
  return { status: res.statusCode, headers: flat, text, json: () => JSON.parse(text) };
}

export interface TestGateway {
  url: string;
  app: Awaited<ReturnType<typeof buildApp>>;
  sim: Simulator;
  store: StoreConnection;
  adminToken: string;
  admin(method: string, path: string, body?: unknown): Promise<HttpAnswer>;
  /** Creates a team (budget 1,000,000 a month unless given) and returns a fresh key for it. */
  team(name: string, body?: Record<string, unknown>): Promise<string>;
  api(method: string, path: string, key: string, body?: unknown, headers?: Record<string, string>): Promise<HttpAnswer>;
  /** The team's budget view (spent, reserved, remaining, resets_at) from the admin API. */
  usage(team: string): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): Promise<void>;
}

export interface GatewayOptions {
  backend?: Backend['name'];
  /** Share a store with another gateway (a second replica). */
  store?: StoreConnection;
  sim?: Simulator;
  simOptions?: SimulatorOptions;
  config?: ConfigInput;
  clock?: Clock;
  /** What background refreshes and coalescing waits wait on (a ManualClock: they run when it is moved). */
  timers?: Timers;
  logStream?: DestinationStream;
  /** How alert retries wait (a test's fake timer). */
  alertSleep?: Sleep;
  tracer?: Tracer;
}

export async function startGateway(options: GatewayOptions = {}): Promise<TestGateway> {
  const sim = options.sim ?? (await startSimulator(options.simOptions));
  const backend = storeBackends.find((b) => b.name === (options.backend ?? 'sqlite'))!;
  const store = options.store ?? (await backend.open());
  const adminToken = randomBytes(24).toString('hex');
  // Each gateway keeps its settlement journal in a temp dir of its own (never ./data of the checkout).
  const journalDir = mkdtempSync(join(tmpdir(), 'egw-journal-'));
  const config = parseConfig(
    deepMerge(
      {
        upstream: {
          base_url: sim.url,
          api_key: sim.apiKey,
          retry: { base_delay_ms: 1, max_delay_ms: 5 },
        },
        admin: { token: adminToken },
        quota: { settlement_journal: join(journalDir, 'settlements.journal') },
        log: { level: options.logStream ? 'info' : 'silent' },
      },
      (options.config ?? {}) as Record<string, unknown>,
    ),
  );
  const app = await buildApp({ config, store, clock: options.clock, timers: options.timers, logStream: options.logStream, tracer: options.tracer, alertSleep: options.alertSleep });
  await app.listen({ host: '127.0.0.1', port: 0 });
  // Tests start from a known catalog and balance (an unreachable upstream leaves them unknown).
  await app.services.catalog.load(app.services.upstream, app.services.clock.now()).catch(() => {});
  await app.services.balance.refresh().catch(() => {});
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const admin = (method: string, path: string, body?: unknown) =>
    call(url, method, path, { body, headers: { authorization: `Bearer ${adminToken}` } });
  return {
    url,
    app,
    sim,
    store,
    adminToken,
    admin,
    async team(name, body = {}) {
      const created = await admin('POST', '/admin/teams', { name, budget: { tokens: 1_000_000, period: 'month' }, ...body });
      if (created.status !== 201 && created.status !== 409) throw new Error(`team ${name}: ${created.text}`);
      const issued = await admin('POST', `/admin/teams/${name}/keys`, {});
      return issued.json().key as string;
    },
    api: (method, path, key, body, headers) => call(url, method, path, { key, body, headers }),
    usage: async (team) => (await admin('GET', `/admin/teams/${team}`)).json().usage,
    async close() {
      await app.close();
      rmSync(journalDir, { recursive: true, force: true });
      if (!options.store) await cleanup(store);
      if (!options.sim) await sim.close();
    },
  };
}

/**
 * Another replica of `first`: a gateway on a second connection to the same store, sharing its
 * simulator. Its close() also closes that connection (the store itself is `first`'s to clean).
 */
export async function startReplica(first: TestGateway, options: Omit<GatewayOptions, 'store' | 'sim' | 'backend'> = {}): Promise<TestGateway> {
  const store = await reopen(first.store);
  const replica = await startGateway({ ...options, store, sim: first.sim });
  return {
    ...replica,
    async close() {
      await replica.close();
      await store.close();
    },
  };
}

