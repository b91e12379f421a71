// GET /api/v2/generate/:id, for the teams entitled to that generation (the one that started
// it, or one the cache handed it to); everyone else gets 404, as if it did not exist. A poll
// that sees a pending job end settles that job's reservation.
import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';
import { readGeneration } from '../generate/generation.js';
import { finishJob } from '../generate/settlement.js';
import type { Services } from '../services.js';

export async function generationRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { services } = opts;
  app.get<{ Params: { id: string } }>('/api/v2/generate/:id', async (request, reply) => {
    const { id } = request.params;
    const team = request.principal!.team.name;
    if (!(await services.grants.isGranted(id, team, services.clock.now()))) {
      throw errors.notFound(`No generation ${id}`);
    }
    const res = await services.upstream.read('GET', `/api/v2/generate/${encodeURIComponent(id)}`);
    request.facts.upstreamStatus = res.status;
    if (res.status === 200) {
      const generation = readGeneration(res.body);
      if (generation.status === 'completed' || generation.status === 'failed') {
        const job = await services.jobs.get(id).catch(() => null);
        if (job) await finishJob(services, job, generation);
      }
    }
    return reply.code(res.status).headers(res.headers).send(res.body);
  });
}
