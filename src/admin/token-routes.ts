// /admin/tokens (create, list, revoke named admin credentials, each change audited) and /admin/whoami.
import type { FastifyInstance } from 'fastify';
import type { AuditRequestChange } from './admin-auth.js';
import type { AdminTokens } from './admin-tokens.js';

export function registerTokenRoutes(app: FastifyInstance, tokens: AdminTokens, audit: AuditRequestChange): void {
  app.get('/admin/whoami', async (request) => request.admin);
  app.post('/admin/tokens', async (request, reply) => {
    const created = await tokens.create(request.body);
    await audit(request, { action: 'token.create', target: created.id, before: null, after: created });
    return reply.code(201).send(created);
  });
  app.get('/admin/tokens', async () => ({ tokens: await tokens.list() }));
  app.delete<{ Params: { id: string } }>('/admin/tokens/:id', async (request) => {
    const before = await tokens.get(request.params.id);
    const after = await tokens.revoke(request.params.id);
    await audit(request, { action: 'token.revoke', target: after.id, before, after });
    return after;
  });
}
