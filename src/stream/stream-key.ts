// Which identical requests share one stream: a SHA-256 of the canonical request (route name
// `generate` for both endpoints, body keys sorted, the top-level `stream` flag dropped), and
// the client's Cache-Control: no-cache starts a fresh stream, no-store also keeps out of sharing.
import { createHash } from 'node:crypto';

export interface StreamPlan {
  key: string;
  /** False for `Cache-Control: no-cache`: do not join a live stream (nor read the cache). */
  read: boolean;
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, sortDeep(obj[k])]));
}

export function streamKey(body: Record<string, unknown>): string {
  const { stream: _stream, ...rest } = body;
  return createHash('sha256').update(JSON.stringify(sortDeep({ route: 'generate', namespace: null, body: rest }))).digest('hex');
}

/** Null when the client asked for no sharing at all (`no-store`). */
export function planStream(body: Record<string, unknown>, headers: Record<string, string | string[] | undefined>): StreamPlan | null {
  const raw = headers['cache-control'];
  const directives = new Set((Array.isArray(raw) ? raw.join(',') : (raw ?? '')).split(',').map((d) => d.trim().toLowerCase()));
  if (directives.has('no-store')) return null;
  return { key: streamKey(body), read: !directives.has('no-cache') };
}
