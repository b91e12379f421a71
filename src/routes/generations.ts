// GET /api/v2/generate/:id, for the teams entitled to that generation (the one that started
// it, or one the cache handed it to); everyone else gets 404, as if it did not exist. A poll
// that sees a pending job end settles that job's reservation; a team handed it reads tokens_spent 0.
import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';
import type { Services } from '../services.js';
import { generationSchema } from './schemas.js';

export async function generationRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { services } = opts;
  app.get<{ Params: { id: string } }>('/api/v2/generate/:id', { schema: generationSchema }, async (request, reply) => {
    const { id } = request.params;
    const team = request.principal!.team.name;
    if (!(await services.grants.isGranted(id, team, services.clock.now()))) {
      throw errors.notFound(`No generation ${id}`);
    }
    const { res, generation } = await services.paid.poll(id);
    request.facts.upstreamStatus = res.status;
    if (generation?.status === 'completed' || generation?.status === 'failed') {
      const job = await services.jobs.get(id).catch(() => null);
      if (job) await services.paid.finishJob(job, generation);
    }
    // A team handed another's generation paid nothing for it: its poll says so, like a hit.
    if (generation?.json && 'tokens_spent' in generation.json && (await services.grants.isShared(id, team))) {
      return reply.code(res.status).headers(res.headers).send({ ...generation.json, tokens_spent: 0 });
    }
    return reply.code(res.status).headers(res.headers).send(res.body);
  });
}
