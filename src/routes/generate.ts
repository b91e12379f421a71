// POST /api/v2/generate: validate, then the paid path (reserve, forward, settle), and the
// upstream's status, headers and body back unchanged.
import type { FastifyInstance } from 'fastify';
import { forwardGenerate } from '../generate/forward.js';
import { parseGenerateBody } from '../generate/request-body.js';
import type { Services } from '../services.js';
import { serveStream } from '../stream/serve-stream.js';

export async function generateRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { services } = opts;
  app.post('/api/v2/generate', async (request, reply) => {
    const parsed = parseGenerateBody(request.body);
    // The streaming guide's variant: `"stream": true` on this route answers SSE.
    if (parsed.stream) return serveStream(services, request, reply, parsed, 'guide');
    request.facts.model = parsed.model;
    const { res } = await forwardGenerate(services, request.principal!, parsed, request.facts, null);
    return reply.code(res.status).headers(res.headers).send(res.body);
  });
}
