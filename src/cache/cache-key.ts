// The cache key: a SHA-256 of what a generate request means, the canonical JSON of the route,
// the team namespace (only for teams that do not share) and the whole body as sent, keys sorted
// at every depth, number literals as written (./canonical-json.ts). Only the top-level `stream`
// flag is dropped; nothing else is normalised.
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/** Both generate endpoints (plain and streamed) produce one result, so they share one route name. */
export const GENERATE_ROUTE = 'generate';

/** The canonical text of a request's meaning; `body` is the JSON text as received (an object is serialised first). */
export function canonicalRequest(route: string, body: string | Buffer | Record<string, unknown>, namespace: string | null): string {
  const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : JSON.stringify(body);
  // Members in sorted order, as the canonical form of {route, namespace, body} would have them.
  return `{"body":${canonicalJson(text, '"stream"')},"namespace":${JSON.stringify(namespace)},"route":${JSON.stringify(route)}}`;
}

/** Hex SHA-256 of the canonical request. `namespace` is the team name for a non-sharing team, else null. */
export function cacheKey(route: string, body: string | Buffer | Record<string, unknown>, namespace: string | null): string {
  return createHash('sha256').update(canonicalRequest(route, body, namespace)).digest('hex');
}
