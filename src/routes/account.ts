// GET /api/v2/balance, the team's view: token_balance is what the team may spend now (its
// budget left, never more than the account holds above the floor); plan fields from upstream.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { balanceSchema } from './schemas.js';

export async function accountRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { quota, balance } = opts.services;
  app.get('/api/v2/balance', { schema: balanceSchema }, async (request) => {
    const team = request.principal!.team;
    if (!balance.known) await balance.refresh().catch(opts.services.storeError);
    const snapshot = balance.snapshot();
    return {
      token_balance: await quota.spendable(team),
      plan: snapshot.plan,
      plan_expires_at: snapshot.plan_expires_at,
    };
  });
}
