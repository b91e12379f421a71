// POST /api/v2/generate/stream (the reference's streaming endpoint); POST /api/v2/generate with
// `"stream": true` (the streaming guide's) is dispatched to the same code from generate.ts.
// Closing the app waits for streams still being read, so their charges are settled first.
import type { FastifyInstance } from 'fastify';
import { parseGenerateBody } from '../generate/request-body.js';
import { logRequest } from '../http/request-log.js';
import { assertModelAllowed } from '../limits/model-access.js';
import type { Services } from '../services.js';
import { generateStreamSchema } from './schemas.js';
import { serveStream } from '../stream/serve-stream.js';

export async function generateStreamRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { services } = opts;
  app.post('/api/v2/generate/stream', { schema: generateStreamSchema }, async (request, reply) => {
    const parsed = parseGenerateBody(request.body);
    assertModelAllowed(request.principal!, parsed.model, services.catalog.category(parsed.model));
    return serveStream(services, request, reply, parsed, 'reference');
  });
  // A stream whose client left is still read to its end, but fastify's onResponse never runs
  // for it: its request line, metrics and ledger savings are recorded here instead.
  services.streams.onDetached((request, reply) => {
    app.recordGenerate(request, reply);
    logRequest(request, reply, { detached: true });
  });
}
