// The drop-in API under /api/v2: team keys are checked here, before the body is read, and
// nothing under /api/ that is not listed is ever forwarded (/api/v2/user/history would show
// every team's prompts).
import type { FastifyInstance } from 'fastify';
import { bearerToken } from '../auth/keys.js';
import { errors } from '../errors.js';
import type { Services } from '../services.js';
import { inSpan } from '../telemetry/spans.js';
import { accountRoutes } from './account.js';
import { generateStreamRoutes } from './generate-stream.js';
import { generateRoutes } from './generate.js';
import { generationRoutes } from './generations.js';
import { modelRoutes } from './models.js';

export async function apiRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { services } = opts;

  // Bodies are kept as bytes: forwarded unchanged, hashed for the cache, parsed once by the route.
  // Any content type is read as JSON, as the upstream does (curl -d sends form encoding).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (request) => {
    const principal = await inSpan(services.tracer, 'authenticate', {}, async (span) => {
      const found = await services.auth.authenticate(bearerToken(request.headers.authorization)).catch((err: unknown) => {
        services.storeError(err);
        throw errors.storeUnavailable(err); // a key we cannot check is refused, never let through
      });
      span?.setAttribute('gateway.authenticated', found !== null);
      if (found) span?.setAttribute('gateway.team', found.team.name);
      return found;
    });
    if (!principal) throw errors.notAuthenticated();
    request.principal = principal;
    request.facts.team = principal.team.name;
  });

  await app.register(generateRoutes, { services });
  await app.register(generateStreamRoutes, { services });
  await app.register(generationRoutes, { services });
  await app.register(accountRoutes, { services });
  await app.register(modelRoutes, { services });

  app.all('/api/*', { schema: { hide: true } }, async (request) => {
    throw errors.notFound(`${request.method} ${request.url.split('?')[0]} is not served by the gateway`);
  });
}
