// GET /admin/usage: the durable ledger summed per group over a range of UTC days, as JSON or
// CSV (src/ledger/usage.ts does the work). Read-only; it names a key by its id and label, never its secret.
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock.js';
import { parseUsageQuery, readUsage, toCsv } from '../ledger/usage.js';
import type { QuotaStore } from '../quota/quota-store.js';

type RawQuery = Record<string, string | string[] | undefined>;

export function registerUsageRoute(
  app: FastifyInstance,
  deps: { ledger: Pick<QuotaStore, 'ledger'>; clock: Clock; keyLabels: () => Promise<Map<string, string | null>> },
): void {
  app.get<{ Querystring: RawQuery }>('/admin/usage', async (request, reply) => {
    const query = parseUsageQuery(request.query, deps.clock.now());
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
