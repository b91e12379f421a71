// Runs the gateway as a process: loads and checks the configuration, opens the store,
// listens, and on SIGTERM/SIGINT stops accepting, lets in-flight requests finish and settle,
// then exits 0. Nothing here is needed by tests that build the app directly.
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config/schema.js';
import { createLogger, stdoutLogs } from './logger.js';
import { openStore, storeOptionsOf } from './store/connection.js';
import { startTracing } from './telemetry/tracing.js';

/** At exit, queued log lines get this long to reach a stdout that is slow to read them. */
const LOG_CLOSE_MS = 2_000;

export interface RunningServer {
  app: FastifyInstance;
  url: string;
}

export async function startServer(config: Config, options: { onClose?: () => Promise<void> } = {}): Promise<RunningServer> {
  const logs = stdoutLogs();
  const log = createLogger(config.log.level, logs.stream);
  const store = await openStore(config.store.url, storeOptionsOf(config.store));
  const tracing = await startTracing();
  const app = await buildApp({ config, store, logger: log, tracer: tracing?.tracer });
  const url = await app.listen({ host: config.server.host, port: config.server.port });
  log.info({ url, store: store.kind, upstream: config.upstream.base_url, tracing: tracing !== null }, 'elumenta-gateway listening');

  closeWithGrace({ delay: config.server.shutdown_timeout_ms, logger: false }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an error');
    else log.info({ signal }, 'shutting down: finishing in-flight requests');
    await app.close();
    // The store closes after every onClose hook of the app (Fastify runs them last-registered
    // first): the savings' last flush and the settlements of streams still draining need it.
    await store.close();
    await tracing?.shutdown();
    await options.onClose?.();
    log.info('stopped');
    await logs.close(LOG_CLOSE_MS);
  });
  return { app, url };
}
