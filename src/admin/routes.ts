// The admin API under /admin: teams, keys, admin tokens, usage and status, behind an admin
// credential (./admin-auth.ts: viewers read, admins change). A key's or token's secret
// appears in exactly one answer: its issue.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { version } from '../version.js';
import { adminGate } from './admin-auth.js';
import { withAdminSchema } from './schemas.js';
import { registerTokenRoutes } from './token-routes.js';
import { registerUsageRoute } from './usage-route.js';

export async function adminRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { services } = opts;
  const { teams, quota } = services;

  app.addHook('onRoute', withAdminSchema);
  app.decorateRequest('admin', null);
  app.addHook('onRequest', adminGate(services.adminTokens));

  const withUsage = async (name: string) => {
    const team = await teams.get(name);
    return { ...team, usage: await quota.view(team) };
  };

  app.post('/admin/teams', async (request, reply) => reply.code(201).send(await teams.create(request.body)));
  app.get('/admin/teams', async () => ({ teams: await Promise.all((await teams.list()).map((t) => withUsage(t.name))) }));
  app.get<{ Params: { name: string } }>('/admin/teams/:name', async (request) => withUsage(request.params.name));
  app.patch<{ Params: { name: string } }>('/admin/teams/:name', async (request) => {
    await teams.update(request.params.name, request.body);
    return withUsage(request.params.name);
  });
  app.delete<{ Params: { name: string } }>('/admin/teams/:name', async (request, reply) => {
    await teams.remove(request.params.name);
    return reply.code(204).send();
  });

  app.post<{ Params: { name: string } }>('/admin/teams/:name/keys', async (request, reply) =>
    reply.code(201).send(await teams.issueKey(request.params.name, request.body)),
  );
  app.get<{ Querystring: { team?: string } }>('/admin/keys', async (request) => ({
    keys: await teams.listKeys(request.query.team || undefined),
  }));
  app.delete<{ Params: { id: string } }>('/admin/keys/:id', async (request) => teams.revokeKey(request.params.id));
  app.post<{ Params: { id: string } }>('/admin/keys/:id/rotate', async (request, reply) =>
    reply.code(201).send(await teams.rotateKey(request.params.id)),
  );

  registerTokenRoutes(app, services.adminTokens);
  registerUsageRoute(app, { ledger: services.quotaStore, clock: services.clock });

  app.get('/admin/status', async () => {
    let storeOk = true;
    await services.store.ping().catch(() => (storeOk = false));
    return {
      version,
      upstream: { base_url: services.config.upstream.base_url, balance: services.balance.snapshot(), account_floor: services.config.quota.account_floor, models: services.catalog.size },
      store: { kind: services.store.kind, healthy: storeOk },
    };
  });
}
