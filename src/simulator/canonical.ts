// Canonical JSON for counting identical generate calls: keys sorted at every depth, and the
// top-level `stream` flag dropped, so `{a, b}` and `{b, a}` (streamed or not) count as one body.

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj).sort()) {
    if (obj[key] !== undefined) out[key] = sortDeep(obj[key]);
  }
  return out;
}

/** The canonical text of a generate body (keys sorted, top-level `stream` ignored). */
export function canonicalBody(body: unknown): string {
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'stream' in body) {
    const { stream: _ignored, ...rest } = body as Record<string, unknown>;
    return JSON.stringify(sortDeep(rest));
  }
  return JSON.stringify(sortDeep(body)) ?? 'undefined';
}
