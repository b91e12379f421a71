// Turns a completed generation body (a cache entry, or a result read back after a broken
// stream) into SSE in the upstream's own event format, so a streaming client cannot tell a
// replay from a live stream: generation_start, content_delta chunks, generation_end, [DONE].
import { doneEvent, jsonEvent, type SseEvent } from './sse-parser.js';

/** Which documented variant the client used: it decides the end event's field names. */
export type StreamVariant = 'reference' | 'guide';

/** The generate answer's shape, as the cache stores it. */
export interface GenerationBody {
  id: string | number | null;
  model_slug?: string | null;
  result_text?: string | null;
  tokens_spent?: number;
  [field: string]: unknown;
}

/** Deltas about this long: few events, each cut at a word boundary like upstream's. */
const CHUNK_CHARS = 48;

/** Splits text into deltas at word boundaries; joined back they give the text exactly. */
export function chunkText(text: string, size = CHUNK_CHARS): string[] {
  const words = text.match(/\s*\S+|\s+$/g) ?? [];
  const chunks: string[] = [];
  let current = '';
  for (const word of words) {
    if (current.length > 0 && current.length + word.length > size) {
      chunks.push(current);
      current = '';
    }
    current += word;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** The end event as this client's variant expects it, for an answer that cost it `tokens`. */
export function endEvent(
  id: string | number | null,
  variant: StreamVariant,
  tokens: number,
  balanceRemaining: number | null,
): SseEvent {
  if (variant === 'reference') return jsonEvent({ type: 'generation_end', id, tokens_spent: tokens });
  const end: Record<string, unknown> = { type: 'generation_end', id, tokens_spent: tokens, tokens_used: tokens };
  if (balanceRemaining !== null) end.balance_remaining = balanceRemaining;
  return jsonEvent(end);
}

/** The whole replay of a stored body; it costs the client nothing, so it ends with 0 tokens. */
export function replayEvents(body: GenerationBody, variant: StreamVariant, balanceRemaining: number | null = null): SseEvent[] {
  const id = body.id ?? null;
  const events = [jsonEvent({ type: 'generation_start', id, model: body.model_slug ?? null })];
  for (const delta of chunkText(body.result_text ?? '')) events.push(jsonEvent({ type: 'content_delta', delta }));
  events.push(endEvent(id, variant, 0, balanceRemaining), doneEvent());
  return events;
}
