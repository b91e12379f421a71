// GET /metrics (Prometheus text; open unless metrics.token is set, then that bearer token, or
// an admin or viewer credential, is required) and the hook that observes each finished generate request from request.facts:
// counters, histograms, and the cache's savings for the ledger. It never reads headers or bodies.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { bearerToken, safeEqual } from '../auth/keys.js';
import { errors } from '../errors.js';
import type { Services } from '../services.js';
import { outcomeOf, type GatewayMetrics } from './gateway-metrics.js';
import type { SavingsLedger } from '../ledger/savings.js';
import { SharedState } from './shared-state.js';

export interface MetricsPluginOptions {
  services: Services;
  metrics: GatewayMetrics;
  /** Flush the savings on a timer (off for the CLI's in-process app; it still flushes on close). */
  background: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: GatewayMetrics;
    savings: SavingsLedger;
    /** Counts one finished generate request: metrics, and the ledger's savings for hits and coalesced answers. */
    recordGenerate(request: FastifyRequest, reply: FastifyReply): void;
  }
}

/** The generate routes (POST /api/v2/generate and its stream variant). */
function isGenerate(request: FastifyRequest): boolean {
  return request.method === 'POST' && (request.routeOptions.url ?? '').startsWith('/api/v2/generate');
}

async function metricsPlugin(app: FastifyInstance, opts: MetricsPluginOptions): Promise<void> {
  const { services, metrics } = opts;
  const { config, clock, catalog } = services;
  const storeError = (err: unknown) => services.storeError(err);
  metrics.attach(
    (slug) => (slug === undefined ? 'other' : catalog.label(slug)),
    new SharedState(
      {
        teams: services.teams,
        quota: services.quota,
        quotaStore: services.quotaStore,
        balance: services.balance,
        clock,
        accountFloor: config.quota.account_floor,
        storeError,
      },
      config.metrics.state_cache_ms,
    ),
  );
  const { savings } = services;
  app.decorate('metrics', metrics);
  app.decorate('savings', savings);

  app.decorate('recordGenerate', (request: FastifyRequest, reply: FastifyReply) => {
    const facts = request.facts;
    const team = request.principal?.team.name;
    metrics.observeGenerate(facts, team, reply.statusCode, reply.elapsedTime);
    const outcome = outcomeOf(facts, reply.statusCode);
    // The ledger keeps the model as requested, like settlement does; only labels are folded.
    if ((outcome === 'hit' || outcome === 'coalesced') && team && facts.model) {
      savings.record(team, facts.model, outcome, facts.tokensSaved ?? 0, request.principal?.key.id);
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    if (isGenerate(request)) app.recordGenerate(request, reply);
  });

  const metricsSchema = {
    tags: ['operations'],
    summary: 'Prometheus metrics (text format); bearer METRICS_TOKEN if one is set',
    response: {
      200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
      401: { description: 'METRICS_TOKEN is set and was not given', $ref: 'ErrorBody#' },
    },
  };
  app.get('/metrics', { schema: metricsSchema }, async (request, reply) => {
    const required = config.metrics.token;
    if (required) {
      const token = bearerToken(request.headers.authorization);
      const allowed = token !== null && (safeEqual(token, required) || (await services.adminTokens.resolve(token)) !== null);
      if (!allowed) throw errors.notAuthenticated('Missing or wrong metrics token');
    }
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  if (opts.background) {
    app.addHook('onReady', async () => savings.start(config.metrics.ledger_flush_ms));
  }
}

export default fp(metricsPlugin, { name: 'metrics', fastify: '5.x' });
