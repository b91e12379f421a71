// The cache key: a SHA-256 of what a generate request means, the canonical JSON of the route,
// the team namespace (only for teams that do not share) and the whole body, keys sorted at
// every depth. Only the top-level `stream` flag is dropped; nothing else is normalised.
import { createHash } from 'node:crypto';

/** Both generate endpoints (plain and streamed) produce one result, so they share one route name. */
export const GENERATE_ROUTE = 'generate';

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj).sort()) out[key] = sortDeep(obj[key]);
  return out;
}

/** The canonical text of a request's meaning; exported for tests. */
export function canonicalRequest(route: string, body: Record<string, unknown>, namespace: string | null): string {
  const { stream: _stream, ...rest } = body;
  return JSON.stringify(sortDeep({ route, namespace, body: rest }));
}

/** Hex SHA-256 of the canonical request. `namespace` is the team name for a non-sharing team, else null. */
export function cacheKey(route: string, body: Record<string, unknown>, namespace: string | null): string {
  return createHash('sha256').update(canonicalRequest(route, body, namespace)).digest('hex');
}
