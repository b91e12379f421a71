// Liveness and readiness. /healthz: the process answers. /readyz: the store answers and the
// upstream balance is known, so a load balancer only sends traffic to a replica that can serve it.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';

const tags = ['operations'];
const healthSchema = {
  tags,
  summary: 'Liveness: the process answers',
  response: { 200: { description: 'Alive', type: 'object', required: ['status'], properties: { status: { type: 'string', const: 'ok' } } } },
};
const readiness = {
  type: 'object',
  required: ['status', 'store', 'upstream_balance_known'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    store: { type: 'boolean', description: 'The store answers' },
    upstream_balance_known: { type: 'boolean' },
  },
};
const readySchema = {
  tags,
  summary: 'Readiness: the store answers and the upstream balance is known',
  response: {
    200: { description: 'Ready', ...readiness },
    // While the gateway stops, every route answers 503 shutting_down in the error shape: this one too.
    503: { description: 'Not ready; or shutting_down (the error shape) while the gateway stops', anyOf: [readiness, { $ref: 'ErrorBody#' }] },
  },
};

export async function healthRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { store, balance } = opts.services;
  app.get('/healthz', { schema: healthSchema }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: readySchema }, async (_request, reply) => {
    let storeOk = true;
    await store.ping().catch(() => (storeOk = false));
    const ready = storeOk && balance.known;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', store: storeOk, upstream_balance_known: balance.known });
  });
}
