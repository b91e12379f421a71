// What the cache keeps for a key and how it is written to the shared store: the upstream body
// as a hit serves it (tokens_spent already 0, so a hit never re-parses it) and a small header
// of facts (what the original paid, its generation id, the team that paid). Pending entries
// record an async job in flight; failed answers are only ever shared in-process, never stored.
export type AnswerKind = 'completed' | 'pending' | 'failed';

export interface CachedAnswer {
  kind: AnswerKind;
  /** The body a hit or a coalesced request receives: the original with `tokens_spent: 0`. */
  body: Buffer;
  /** What the original request paid upstream (0 while pending). */
  tokensSaved: number;
  generationId: string | null;
  /** The team whose request went upstream (already entitled to poll the generation). */
  team: string;
  model: string;
  /** Pending entries only: the TTL (ms) the original request asked for, applied on completion. */
  ttlMs: number | null;
  /** When the entry stops being served (gateway clock, ms); 0 for answers that are never stored. */
  expiresAt: number;
}

/**
 * Bytes the cache keeps in an allocation of their own. Small Buffers are otherwise carved
 * out of Node's shared 8 KiB pool (or are views of a larger reply buffer), and one kept entry
 * would keep its whole slab alive: measured at ~1.2 KB retained per ~230-byte entry.
 */
function ownBytes(source: string | Buffer): Buffer {
  const length = typeof source === 'string' ? Buffer.byteLength(source, 'utf8') : source.length;
  const out = Buffer.allocUnsafeSlow(length);
  if (typeof source === 'string') out.write(source, 'utf8');
  else source.copy(out);
  return out;
}

/** The body a sharer receives: the upstream JSON with tokens_spent zeroed, field order kept. */
export function sharedBody(json: Record<string, unknown>): Buffer {
  return ownBytes(JSON.stringify({ ...json, tokens_spent: 0 }));
}

interface Header {
  k: AnswerKind;
  s: number;
  g: string | null;
  t: string;
  m: string;
  l: number | null;
  x: number;
}

const NEWLINE = 0x0a;

/** One line of JSON facts, a newline, then the body bytes (JSON.stringify never emits a raw newline). */
export function encodeAnswer(answer: CachedAnswer): Buffer {
  const header: Header = {
    k: answer.kind,
    s: answer.tokensSaved,
    g: answer.generationId,
    t: answer.team,
    m: answer.model,
    l: answer.ttlMs,
    x: answer.expiresAt,
  };
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'), answer.body]);
}

/** Null for anything unreadable (a foreign or older value): treated as a miss. */
export function decodeAnswer(raw: Buffer): CachedAnswer | null {
  const end = raw.indexOf(NEWLINE);
  if (end < 0) return null;
  try {
    const h = JSON.parse(raw.subarray(0, end).toString('utf8')) as Header;
    if (h.k !== 'completed' && h.k !== 'pending') return null;
    const body = ownBytes(raw.subarray(end + 1));
    return { kind: h.k, tokensSaved: h.s, generationId: h.g, team: h.t, model: h.m, ttlMs: h.l, expiresAt: h.x, body };
  } catch {
    return null;
  }
}

/**
 * Bytes an answer holds in memory, for the L1's bound: the body, its strings, and an allowance
 * for the objects around it (map slot, entry, Buffer, grant set), measured at ~700 bytes of
 * heap per entry on Node 20 (100k entries, heap and external memory after a full GC).
 */
export const ENTRY_OVERHEAD_BYTES = 768;

export function answerBytes(key: string, answer: CachedAnswer): number {
  return answer.body.length + key.length + answer.team.length + answer.model.length + ENTRY_OVERHEAD_BYTES;
}
