// The gateway as a fastify app, built from its dependencies (config, store, upstream client,
// clock) so that the server, the tests and the benchmark all build the same thing.
// Listening, signals and process concerns live in server.ts, not here.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Tracer } from '@opentelemetry/api';
import type { DestinationStream, Logger } from 'pino';
import { Registry } from 'prom-client';
import { adminRoutes } from './admin/routes.js';
import type { Alerts } from './alerts/alerts.js';
import { assertOneAuthorization } from './auth/keys.js';
import { createAlerts } from './alerts/create-alerts.js';
import type { Sleep } from './alerts/webhook-sender.js';
import { systemClock, systemTimers, type Clock, type Timers } from './clock.js';
import type { Config } from './config/schema.js';
import { clientErrorHandler, frameworkErrors, installErrorHandling } from './http/error-handler.js';
import { registerOpenApi } from './http/openapi.js';
import { logRequest } from './http/request-log.js';
import './http/context.js';
import { createLogger } from './logger.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import metricsPlugin from './metrics/metrics-plugin.js';
import { Poller, UNTIL_UPSTREAM_ANSWERS } from './poller.js';
import type { Reconciler } from './reconciler.js';
import { apiRoutes } from './routes/api.js';
import { healthRoutes } from './routes/health.js';
import { createServices, type Services } from './services.js';
import type { StoreConnection } from './store/connection.js';
import { traceRequests } from './telemetry/request-span.js';
import type { UpstreamClient } from './upstream/client.js';

export interface AppOptions {
  config: Config;
  store: StoreConnection;
  upstream?: UpstreamClient;
  clock?: Clock;
  /** How the catalog and balance refreshes and coalescing waiters wait (tests pass a ManualClock); default real timers. */
  timers?: Timers;
  /** Where logs go (tests capture them); default stdout. */
  logStream?: DestinationStream;
  logger?: Logger;
  /** Start background work (key revocation poll, balance refresh, catalog, reconciler); default true. */
  background?: boolean;
  /** Where metrics are registered; default a fresh registry per app (never prom-client's global one). */
  metricsRegistry?: Registry;
  /** Traces every request when given (src/telemetry/tracing.ts starts one from the OTEL_* variables); none: no tracing at all. */
  tracer?: Tracer;
  /** The name the bootstrap admin token acts under in the audit log; default "bootstrap". */
  bootstrapName?: string;
  /** How alert retries wait (tests move a manual clock instead); default a timer. */
  alertSleep?: Sleep;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
    reconciler: Reconciler;
    alerts: Alerts;
  }
}

/** Node's own timers for a request limit of `ms`: the head within it too, checked at least twice in it. */
function requestTimeouts(ms: number): { headersTimeout: number; connectionsCheckingInterval: number } {
  return { headersTimeout: Math.min(60_000, ms), connectionsCheckingInterval: Math.min(30_000, Math.ceil(ms / 2)) };
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? createLogger(config.log.level, options.logStream);
  const metrics = new GatewayMetrics(options.metricsRegistry ?? new Registry());
  let alerts: Alerts | undefined = undefined; // built from the services below; store errors and settlements may come first
  const services = createServices({
    config,
    store: options.store,
    clock,
    timers: options.timers,
    log,
    upstream: options.upstream,
    tracer: options.tracer,
    onStoreError: () => {
      metrics.storeError();
      alerts?.storeFailed();
    },
    // The budget_threshold check hangs off settlement: the paid path's one place that spends.
    onSettled: (settled) => {
      metrics.settled(settled);
      alerts?.settled(settled.team, settled.key?.id);
    },
    bootstrapName: options.bootstrapName,
    journal: options.background !== false,
    onSaved: (team, model, tokens) => metrics.saved(team, model, tokens),
  });
  const built = createAlerts({ ...services, registry: metrics.registry, sleep: options.alertSleep });
  alerts = built.alerts;

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.server.body_limit_bytes,
    // A request (head and body) must have arrived by then, or it gets 408 request_timeout: one
    // that never finishes would otherwise hold its connection for ever (fastify's default is
    // none). Node swaps the two limits when headersTimeout (60 s) is the longer one, so it is
    // kept under; it checks every connectionsCheckingInterval (30 s), more often for a short limit.
    requestTimeout: config.server.request_timeout_ms,
    http: requestTimeouts(config.server.request_timeout_ms),
    trustProxy: config.server.trust_proxy,
    // Every answer the gateway makes is in the contract's error shape (src/http/error-handler.ts).
    return503OnClosing: false,
    clientErrorHandler,
    frameworkErrors,
    forceCloseConnections: 'idle',
    // Route schemas validate as written: no coercion, no defaults filled in (the services own
    // them), an unknown field is an error, not silently dropped, and every wrong field is named
    // (verbose: an error carries its schema, so a pattern's description can say what it wants).
    ajv: { customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: true, verbose: true } },
  });
  app.decorate('services', services);
  app.decorate('alerts', built.alerts);
  const unwatch =
    options.store.kind === 'redis'
      ? options.store.watch({
          reconnected: ({ downMs }) => {
            metrics.storeReconnected(downMs);
            log.warn({ down_ms: downMs }, 'store reconnected: serving again');
          },
          waitShort: () => metrics.replicaWaitShort(),
        })
      : () => {};
  app.decorateRequest('principal', null);
  app.decorateRequest('facts', null as never);
  app.decorateRequest('span', null);
  app.addHook('onRequest', async (request) => {
    request.facts = {};
    assertOneAuthorization(request.raw.rawHeaders);
  });
  if (options.tracer) traceRequests(app, options.tracer);
  // One log line per request, from chosen facts: never headers, bodies or keys.
  app.addHook('onResponse', async (request, reply) => logRequest(request, reply));
  installErrorHandling(app, config.server.body_limit_bytes);

  // While closing, connections of in-flight requests close right after their answer instead
  // of idling until keepAliveTimeout, so the server finishes closing as soon as they are done.
  // (Node reads keepAliveTimeout whenever a response finishes: no per-request hook needed.)
  app.addHook('preClose', async () => {
    app.server.keepAliveTimeout = 1;
  });

  await registerOpenApi(app); // before the routes, so it sees them all
  await app.register(metricsPlugin, { services, metrics, background: options.background !== false });
  await app.register(healthRoutes, { services });
  await app.register(adminRoutes, { services });
  await app.register(apiRoutes, { services });
  if (config.console.enabled) {
    // Imported here, not at the top: the CLI's admin commands load this module without building an app.
    const { consoleRoutes } = await import('./console/console-plugin.js');
    await app.register(consoleRoutes, { adminToken: config.admin.token, sessionTtlSeconds: config.console.session_ttl_s, clock });
  }

  const { reconciler } = services;
  app.decorate('reconciler', reconciler);

  const auditPrune = new Poller(() => services.audit.prune(config.audit.retention_days), services.storeError);
  const floorCheck = new Poller(async () => built.alerts.checkFloor(), services.storeError);
  const catalogRefresh = new Poller(
    () => services.catalog.load(services.upstream, clock.now()),
    (err) => log.warn({ err }, 'catalog load failed'),
    options.timers ?? systemTimers,
  );
  if (options.background !== false) {
    app.addHook('onReady', async () => {
      auditPrune.start(config.audit.prune_interval_ms);
      floorCheck.start(config.upstream.balance_refresh_ms, config.upstream.balance_refresh_ms);
      services.auth.start(config.auth.revocation_poll_ms, services.storeError);
      services.balance.start(config.upstream.balance_refresh_ms, (err) => log.warn({ err }, 'balance refresh failed'));
      // Started before the upstream (or while it is briefly down), the catalog is retried within seconds.
      catalogRefresh.start({ intervalMs: config.upstream.catalog_refresh_ms, retryUntilFirstSuccess: UNTIL_UPSTREAM_ANSWERS });
      reconciler.start();
    });
  }
  // Closing, in one place and in this order (Fastify would run hooks spread over plugins
  // last-registered first): streams whose client left are read to their end and settled, the
  // savings counted until then are written, and what the store could not take is replayed.
  // The store itself is closed by whoever opened it, after this.
  app.addHook('onClose', async () => {
    await services.streams.drain();
    await services.savings.stop();
    unwatch();
    services.auth.stop();
    services.balance.stop();
    auditPrune.stop();
    floorCheck.stop();
    built.sender.stop();
    catalogRefresh.stop();
    reconciler.stop();
    services.journal.stop();
    await services.journal.replay().catch(() => {}); // else the file keeps them for the next start (or another replica)
    services.journal.close();
    await services.cache.close();
    await services.upstream.close();
  });
  return app;
}
