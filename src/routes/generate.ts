// POST /api/v2/generate: validate, then the cache (a hit, or a share of an identical request
// in flight) or the paid path (reserve, forward, settle), and the upstream's status, headers
// and body back unchanged, with x-gateway-cache saying which.
import type { FastifyInstance } from 'fastify';
import { cachedGenerate } from '../cache/cached-generate.js';
import { parseGenerateBody } from '../generate/request-body.js';
import type { Services } from '../services.js';
import { generateSchema } from './schemas.js';
import { serveStream } from '../stream/serve-stream.js';

export async function generateRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { services } = opts;
  app.post('/api/v2/generate', { schema: generateSchema }, async (request, reply) => {
    const parsed = parseGenerateBody(request.body);
    // The streaming guide's variant: `"stream": true` on this route answers SSE.
    if (parsed.stream) return serveStream(services, request, reply, parsed, 'guide');
    request.facts.model = parsed.model;
    const answer = await cachedGenerate(services, request.principal!, parsed, request.facts, request.headers);
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  });
}
