// Liveness and readiness. /healthz: the process answers. /readyz: the store answers and the
// upstream balance is known, so a load balancer only sends traffic to a replica that can serve it.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';

export async function healthRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { store, balance } = opts.services;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    let storeOk = true;
    await store.ping().catch(() => (storeOk = false));
    const ready = storeOk && balance.known;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', store: storeOk, upstream_balance_known: balance.known });
  });
}
