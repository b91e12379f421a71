// The gateway under test, in a process of its own: buildApp on a fresh store (a temp SQLite
// file, or Redis under a unique `egw-bench:` prefix), silent logs, background work on as in
// `serve`. On close it deletes what it created: the temp dir, or its own Redis keys only.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/app.js';
import { deepMerge, parseConfig } from '../../src/config/load.js';
import { deleteRedisPrefix, openStore, type RedisClient, type StoreConnection } from '../../src/store/connection.js';
import { startTracing } from '../../src/telemetry/tracing.js';
import { serveChild } from './child.js';

export interface GatewayArgs {
  backend: 'sqlite' | 'redis';
  redisUrl: string;
  upstream: string;
  upstreamKey: string;
  adminToken: string;
  /** Extra config (merged last), e.g. from BENCH_GATEWAY_CONFIG. */
  config?: Record<string, unknown>;
}

const BENCH_PREFIX = 'egw-bench:';
const args = JSON.parse(process.argv[2] ?? '{}') as GatewayArgs;

async function openBenchStore(): Promise<{ store: StoreConnection; remove: () => Promise<void> }> {
  if (args.backend === 'redis') {
    const store = await openStore(args.redisUrl, { redisPrefix: `${BENCH_PREFIX}${randomUUID()}:` });
    return {
      store,
      remove: async () => {
        if (store.kind === 'redis') await deleteKeys(store.redis, store.prefix);
      },
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'egw-bench-'));
  const store = await openStore(`sqlite:${join(dir, 'store.db')}`);
  return { store, remove: () => rm(dir, { recursive: true, force: true }) };
}

async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  if (prefix.startsWith(BENCH_PREFIX)) await deleteRedisPrefix(redis, prefix);
}

await serveChild(async () => {
  const { store, remove } = await openBenchStore();
  const config = parseConfig(
    deepMerge(
      {
        upstream: { base_url: args.upstream, api_key: args.upstreamKey },
        admin: { token: args.adminToken },
        log: { level: 'silent' },
      },
      args.config ?? {},
    ),
    'benchmark gateway config',
  );
  // Traces only when the OTEL_* variables ask for them, as in `serve` (to measure what they cost).
  const tracing = await startTracing();
  const app = await buildApp({ config, store, tracer: tracing?.tracer });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  // Start from a known catalog (cost estimates) and balance, as a running gateway soon would.
  await app.services.catalog.load(app.services.upstream, app.services.clock.now());
  await app.services.balance.refresh();
  return {
    url,
    async close() {
      await app.close();
      await tracing?.shutdown();
      if (store.kind === 'redis') await remove();
      await store.close();
      if (store.kind === 'sqlite') await remove();
    },
  };
});
