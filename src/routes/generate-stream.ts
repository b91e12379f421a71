// POST /api/v2/generate/stream (the reference's streaming endpoint); POST /api/v2/generate with
// `"stream": true` (the streaming guide's) is dispatched to the same code from generate.ts.
// Closing the app waits for streams still being read, so their charges are settled first.
import type { FastifyInstance } from 'fastify';
import { parseGenerateBody } from '../generate/request-body.js';
import type { Services } from '../services.js';
import { serveStream } from '../stream/serve-stream.js';

export async function generateStreamRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { services } = opts;
  app.post('/api/v2/generate/stream', async (request, reply) => {
    const parsed = parseGenerateBody(request.body);
    return serveStream(services, request, reply, parsed, 'reference');
  });
  // A stream whose client left is still read to its end, but fastify's onResponse never runs
  // for it: its request line, metrics and ledger savings are recorded here instead, as the
  // onResponse hooks of app.ts and src/metrics/metrics-plugin.ts would have.
  services.streams.onDetached((request, reply) => {
    const f = request.facts;
    const team = request.principal?.team.name;
    app.metrics.observeGenerate(f, team, reply.statusCode, reply.elapsedTime);
    const saving = f.cache === 'hit' || f.cache === 'coalesced' ? f.cache : null;
    if (saving && team && f.model) app.savings.record(team, f.model, saving, f.tokensSaved ?? 0);
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        detached: true,
        team: f.team,
        model: f.model,
        cache: f.cache,
        tokens_spent: f.tokensSpent,
        tokens_saved: f.tokensSaved,
        upstream_status: f.upstreamStatus,
        upstream_ms: f.upstreamMs === undefined ? undefined : Math.round(f.upstreamMs),
        ttfb_ms: f.ttfbMs === undefined ? undefined : Math.round(f.ttfbMs),
      },
      'request',
    );
  });
  app.addHook('onClose', async () => services.streams.drain());
}
