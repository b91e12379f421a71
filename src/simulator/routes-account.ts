// Account and catalog routes: balance, user profile and history, the model list and model
// lookup, and the price calculator (older docs).
import type { FastifyInstance } from 'fastify';
import { catalog, findModel } from './catalog.js';
import { sendError } from './errors.js';
import { toJson } from './generations.js';
import { calculatePrice } from './pricing.js';
import type { SimState } from './state.js';

const DAY = 86_400_000;

export function accountRoutes(app: FastifyInstance, state: SimState): void {
  const { plan, now } = state.opts;
  // A fixed expiry ~30 days after start (midnight UTC); null on the free plan, as documented.
  const planExpiresAt = plan === 'free' ? null : new Date(Math.floor(now() / DAY + 30) * DAY).toISOString().replace('.000Z', 'Z');

  app.get('/api/v2/balance', async () => ({ token_balance: state.balance, plan, plan_expires_at: planExpiresAt }));

  app.get('/api/v2/user/me', async () => ({
    id: 1,
    email: 'demo@elumenta.sim',
    name: 'Simulator account',
    plan,
    plan_expires_at: planExpiresAt,
    token_balance: state.balance,
    api_access: plan === 'vip' || plan === 'elite',
    limits: {
      requests_per_hour: state.rate.limitHour,
      requests_per_day: state.rate.limitDay,
      remaining_hour: state.rate.remainingHour(),
      remaining_day: state.rate.remainingDay(),
    },
  }));

  app.get<{ Querystring: Record<string, string | undefined> }>('/api/v2/user/history', async (req) => {
    const q = req.query;
    const page = Math.max(1, Number.parseInt(q.page ?? '1', 10) || 1);
    const limit = Math.min(100, Math.max(1, Number.parseInt(q.limit ?? '20', 10) || 20));
    const all = [...state.generations.values()]
      .reverse()
      .map((g) => state.settle(g))
      .filter((g) => (!q.type || g.model.category === q.type) && (!q.model || g.model.slug === q.model) && (!q.status || g.status === q.status));
    const generations = all.slice((page - 1) * limit, page * limit).map((g) => ({
      ...toJson(g),
      category: g.model.category,
      prompt: g.input,
      created_at: new Date(g.createdAt).toISOString(),
    }));
    return { generations, page, limit, total: all.length };
  });

  // The list route is not documented (presumably GET /api/v2/models); the simulator answers
  // `{ "models": [...] }`, the same objects GET /api/v2/models/:slug returns.
  app.get('/api/v2/models', async () => ({ models: catalog }));

  app.get<{ Params: { slug: string } }>('/api/v2/models/:slug', async (req, reply) => {
    const model = findModel(req.params.slug);
    return model ?? sendError(reply, 404, `Model not found: ${req.params.slug}`, { model: req.params.slug });
  });

  app.post<{ Params: { slug: string } }>('/api/v2/models/:slug/calculate-price', async (req, reply) => {
    const model = findModel(req.params.slug);
    if (!model) return sendError(reply, 404, `Model not found: ${req.params.slug}`, { model: req.params.slug });
    const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {};
    return calculatePrice(model, body);
  });
}
