// POST /api/v2/generate: validate, then the cache (a hit, or a share of an identical request
// in flight) or the paid path (reserve, forward, settle), and the upstream's status, headers
// and body back unchanged, with x-gateway-cache saying which.
import type { FastifyInstance } from 'fastify';
import { cachedGenerate } from '../cache/cached-generate.js';
import { parseGenerateBody } from '../generate/request-body.js';
import { assertModelAllowed } from '../limits/model-access.js';
import type { Services } from '../services.js';
import { generateSchema } from './schemas.js';
import { serveStream } from '../stream/serve-stream.js';

export async function generateRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { services } = opts;
  app.post('/api/v2/generate', { schema: generateSchema }, async (request, reply) => {
    const parsed = parseGenerateBody(request.body);
    const principal = request.principal!;
    // Before the cache: a model the key may not use is refused even when an answer is cached.
    assertModelAllowed(principal, parsed.model, services.catalog.category(parsed.model));
    // The streaming guide's variant: `"stream": true` on this route answers SSE.
    if (parsed.stream) return serveStream(services, request, reply, parsed, 'guide');
    request.facts.model = parsed.model;
    const answer = await cachedGenerate(services, principal, parsed, request.facts, request.headers);
    const remaining = request.facts.budgetRemaining ?? (await services.quota.remaining(principal).catch(() => null));
    if (remaining !== null) reply.header('x-gateway-budget-remaining', String(remaining));
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  });
}
