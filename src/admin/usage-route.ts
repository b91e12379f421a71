// GET /admin/usage: the durable ledger summed per group over a range of UTC days, as JSON or
// CSV (src/ledger/usage.ts does the work). Read-only; it names a key by its id and label, never its secret.
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock.js';
import { readUsage, toCsv, usageQuery, type UsageQuerystring } from '../ledger/usage.js';
import type { QuotaStore } from '../quota/quota-store.js';

export function registerUsageRoute(
  app: FastifyInstance,
  deps: { ledger: Pick<QuotaStore, 'ledger'>; clock: Clock; keyLabels: () => Promise<Map<string, string | null>> },
): void {
  // The query was validated against its schema (src/admin/schemas.ts) before this runs.
  app.get<{ Querystring: UsageQuerystring }>('/admin/usage', async (request, reply) => {
    const query = usageQuery(request.query, deps.clock.now());
    const { rows, totals } = await readUsage(deps.ledger, query, deps.keyLabels);
    if (query.format === 'csv') {
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="usage-${query.from}-${query.to}.csv"`)
        .send(toCsv(rows, query.groupBy));
    }
    return { from: query.from, to: query.to, group_by: query.groupBy, rows, totals };
  });
}
