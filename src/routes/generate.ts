// POST /api/v2/generate: validate, then the cache (a hit, or a share of an identical request
// in flight) or the paid path (reserve, forward, settle), and the upstream's status, headers
// and body back unchanged, with x-gateway-cache saying which, and x-gateway-budget-remaining
// (on refusals of a limit too).
import type { FastifyInstance } from 'fastify';
import { cachedGenerate } from '../cache/cached-generate.js';
import { GatewayError } from '../errors.js';
import { sharedBudgetHeader } from '../http/budget-header.js';
import { parseGenerateBody } from '../generate/request-body.js';
import { assertModelAllowed } from '../limits/model-access.js';
import type { Services } from '../services.js';
import { generateSchema } from './schemas.js';
import { serveStream } from '../stream/serve-stream.js';

/** The refusals of a limit: a budget or max_tokens_per_request (402), allowed_models (403), a rate (429). */
const LIMIT_REFUSALS = new Set([402, 403, 429]);

export async function generateRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { services } = opts;
  app.post('/api/v2/generate', { schema: generateSchema }, async (request, reply) => {
    const principal = request.principal!;
    const remainingHeader = async (): Promise<void> => {
      reply.headers(await sharedBudgetHeader(services.quota, principal, request.facts.budgetRemaining));
    };
    try {
      const parsed = parseGenerateBody(request.body);
      // Before the cache: a model the key may not use is refused even when an answer is cached.
      assertModelAllowed(principal, parsed.model, services.catalog.category(parsed.model));
      // The streaming guide's variant: `"stream": true` on this route answers SSE.
      if (parsed.stream) return serveStream(services, request, reply, parsed, 'guide');
      request.facts.model = parsed.model;
      const answer = await cachedGenerate(services, principal, parsed, request.facts, request.headers);
      await remainingHeader();
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    } catch (err) {
      // A refusal for a limit says what the key may still spend too (this replica's figure, at most a second old).
      if (err instanceof GatewayError && LIMIT_REFUSALS.has(err.statusCode)) await remainingHeader();
      throw err;
    }
  });
}
