// GET /admin/audit: the audit log over a time range, filtered by actor and action, as JSON or
// RFC 4180 CSV (like /admin/usage). `from` and `to` take a UTC day (YYYY-MM-DD, whole day) or
// an RFC 3339 time; without them, everything the retention kept. The query was validated
// against its schema (src/admin/schemas.ts) before this runs.
import type { FastifyInstance } from 'fastify';
import type { AuditEntry, AuditFilter } from '../audit/audit-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import { errors } from '../errors.js';
import { csvField, isDay, param, type RawQuery } from '../ledger/usage.js';

const DAY_MS = 86_400_000;
const COLUMNS = ['at', 'actor', 'action', 'target', 'changes', 'ip'] as const;

const LEAP_SECOND = /^(.{10}[Tt ]\d\d:\d\d:)60/;

/**
 * An RFC 3339 time as the schema's date-time accepts it, in ms. Date.parse reads neither a
 * leap second (`23:59:60Z`: POSIX time counts it as the next minute's first instant) nor an
 * offset without minutes (`+01`): it answered NaN, and a NaN bound matched no entry at all.
 */
function timeMs(value: string): number {
  const offset = value.replace(/([+-]\d\d)$/, '$1:00');
  const leap = LEAP_SECOND.exec(offset);
  return leap ? Date.parse(`${leap[1]}59${offset.slice(leap[0].length)}`) + 1000 : Date.parse(offset);
}

function bound(query: RawQuery, name: 'from' | 'to'): number {
  const value = param(query, name);
  if (!value) return name === 'from' ? 0 : Number.MAX_SAFE_INTEGER;
  if (isDay(value)) return Date.parse(`${value}T00:00:00Z`) + (name === 'to' ? DAY_MS - 1 : 0);
  const ms = timeMs(value);
  if (Number.isNaN(ms)) throw errors.validation(`${name} is not a time`, { fields: { [name]: 'a UTC day (YYYY-MM-DD) or an RFC 3339 time' } });
  return ms;
}

export function parseAuditQuery(query: RawQuery): AuditFilter & { format: 'json' | 'csv' } {
  const fromMs = bound(query, 'from');
  const toMs = bound(query, 'to');
  if (fromMs > toMs) throw errors.validation('from must not be after to', { fields: { from: 'before to' } });
  const format = param(query, 'format') === 'csv' ? 'csv' : 'json';
  return { fromMs, toMs, actor: param(query, 'actor') || undefined, action: param(query, 'action') || undefined, format };
}

/** One row per entry; `changes` is its JSON in one field. */
export function auditCsv(entries: AuditEntry[]): string {
  const rows = entries.map((e) => COLUMNS.map((c) => csvField(c === 'changes' ? JSON.stringify(e.changes) : e[c])).join(','));
  return [COLUMNS.join(','), ...rows].join('\r\n') + '\r\n';
}

export function registerAuditRoute(app: FastifyInstance, audit: AuditLog): void {
  app.get<{ Querystring: RawQuery }>('/admin/audit', async (request, reply) => {
    const { format, ...filter } = parseAuditQuery(request.query);
    const entries = await audit.query(filter);
    if (format === 'csv') {
      return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="audit.csv"').send(auditCsv(entries));
    }
    return { entries };
  });
}
