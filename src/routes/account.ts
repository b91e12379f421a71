// GET /api/v2/balance, the key's view: token_balance is what the key may spend now (the
// tightest of its team's and its own limits, never more than the account holds above the
// floor); plan fields from upstream.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { balanceSchema } from './schemas.js';

export async function accountRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { quota, balance } = opts.services;
  app.get('/api/v2/balance', { schema: balanceSchema }, async (request) => {
    if (!balance.known) await balance.refresh().catch(opts.services.storeError);
    const snapshot = balance.snapshot();
    return {
      token_balance: await quota.spendable(request.principal!),
      plan: snapshot.plan,
      plan_expires_at: snapshot.plan_expires_at,
    };
  });
}
