// Reads what matters to the gateway out of an upstream generation body: its id (opaque:
// integer in the reference, string in the streaming guide), its status and its charge.
export type GenerationStatus = 'completed' | 'failed' | 'pending';

export interface GenerationFacts {
  id: string | null;
  status: GenerationStatus | null;
  tokensSpent: number;
  /** The parsed body, when it was a JSON object. */
  json: Record<string, unknown> | null;
}

export function readGeneration(body: Buffer | Record<string, unknown>): GenerationFacts {
  let json: Record<string, unknown> | null = null;
  if (Buffer.isBuffer(body)) {
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
    } catch {
      json = null;
    }
  } else json = body;
  const id = typeof json?.id === 'number' || typeof json?.id === 'string' ? String(json.id) : null;
  const rawStatus = json?.status;
  const status = rawStatus === 'completed' || rawStatus === 'failed' || rawStatus === 'pending' ? rawStatus : null;
  const spent = Number(json?.tokens_spent ?? 0);
  return { id, status, tokensSpent: Number.isFinite(spent) && spent > 0 ? spent : 0, json };
}
