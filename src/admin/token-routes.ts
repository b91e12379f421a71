// /admin/tokens (create, list, revoke named admin credentials) and /admin/whoami.
import type { FastifyInstance } from 'fastify';
import type { AdminTokens } from './admin-tokens.js';

export function registerTokenRoutes(app: FastifyInstance, tokens: AdminTokens): void {
  app.get('/admin/whoami', async (request) => request.admin);
  app.post('/admin/tokens', async (request, reply) => reply.code(201).send(await tokens.create(request.body)));
  app.get('/admin/tokens', async () => ({ tokens: await tokens.list() }));
  app.delete<{ Params: { id: string } }>('/admin/tokens/:id', async (request) => tokens.revoke(request.params.id));
}
