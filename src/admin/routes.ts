// The admin API under /admin: teams, keys, admin tokens, usage, audit and status, behind an
// admin credential (./admin-auth.ts: viewers read, admins change). Every change is appended
// to the audit log. A key's or token's secret appears in exactly one answer: its issue.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { version } from '../version.js';
import { adminGate, auditor } from './admin-auth.js';
import { registerAuditRoute } from './audit-route.js';
import { withAdminSchema } from './schemas.js';
import { registerTokenRoutes } from './token-routes.js';
import { registerUsageRoute } from './usage-route.js';

export async function adminRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { services } = opts;
  const { teams, quota } = services;

  app.addHook('onRoute', withAdminSchema);
  // Bodies are JSON whatever their content type says, as on the drop-in routes: the README's
  // `curl -d '{...}'` sends form encoding. No body at all (or only blanks) is `{}`, so a POST
  // whose fields are all optional (issuing a key) needs none, and a missing field is named.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    return text.trim() === '' ? done(null, {}) : json(request, text, done);
  });
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && (request.method === 'POST' || request.method === 'PATCH')) request.body = {};
  });
  app.decorateRequest('admin', null);
  app.addHook('onRequest', adminGate(services.adminTokens));

  const withUsage = async (name: string) => {
    const team = await teams.get(name);
    return { ...team, usage: await quota.view(team) };
  };

  /** Appends one change made by a request to the audit log (the single way in: AuditLog.record). */
  const audit = auditor(services.audit);

  app.post('/admin/teams', async (request, reply) => {
    const team = await teams.create(request.body);
    await audit(request, { action: 'team.create', target: team.name, before: null, after: team });
    return reply.code(201).send(team);
  });
  app.get('/admin/teams', async () => ({ teams: await Promise.all((await teams.list()).map((t) => withUsage(t.name))) }));
  app.get<{ Params: { name: string } }>('/admin/teams/:name', async (request) => withUsage(request.params.name));
  app.patch<{ Params: { name: string } }>('/admin/teams/:name', async (request) => {
    const before = await teams.get(request.params.name);
    const after = await teams.update(request.params.name, request.body);
    await audit(request, { action: 'team.update', target: before.name, before, after });
    return withUsage(request.params.name);
  });
  app.delete<{ Params: { name: string } }>('/admin/teams/:name', async (request, reply) => {
    const before = await teams.get(request.params.name);
    await teams.remove(request.params.name);
    await audit(request, { action: 'team.delete', target: before.name, before, after: null });
    return reply.code(204).send();
  });

  app.post<{ Params: { name: string } }>('/admin/teams/:name/keys', async (request, reply) => {
    const issued = await teams.issueKey(request.params.name, request.body);
    await audit(request, { action: 'key.issue', target: issued.id, before: null, after: issued });
    return reply.code(201).send(issued);
  });
  app.get<{ Querystring: { team?: string } }>('/admin/keys', async (request) => ({
    keys: await teams.listKeys(request.query.team || undefined),
  }));
  app.patch<{ Params: { id: string } }>('/admin/keys/:id', async (request) => {
    const { before, after } = await teams.updateKey(request.params.id, request.body);
    await audit(request, { action: 'key.update', target: after.id, before, after });
    return after;
  });
  app.delete<{ Params: { id: string } }>('/admin/keys/:id', async (request) => {
    const before = await services.teamStore.getKey(request.params.id);
    const after = await teams.revokeKey(request.params.id);
    await audit(request, { action: 'key.revoke', target: after.id, before, after });
    return after;
  });
  app.post<{ Params: { id: string } }>('/admin/keys/:id/rotate', async (request, reply) => {
    const before = await services.teamStore.getKey(request.params.id);
    const issued = await teams.rotateKey(request.params.id);
    const after = await services.teamStore.getKey(request.params.id);
    await audit(request, { action: 'key.rotate', target: request.params.id, before, after, extra: { replaced_by: [null, issued.id] } });
    return reply.code(201).send(issued);
  });

  registerTokenRoutes(app, services.adminTokens, audit);
  registerUsageRoute(app, {
    ledger: services.quotaStore,
    clock: services.clock,
    keyLabels: async () => new Map((await teams.listKeys()).map((k) => [k.id, k.label])),
  });
  registerAuditRoute(app, services.audit);

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
