// Incremental reader of the upstream's server-sent events: bytes in, whole events out, each
// with its raw text (relayed unchanged) and its parsed `data:` payload (read for accounting).
// It never drops or reorders an event; a multi-byte character split across chunks survives.
import { StringDecoder } from 'node:string_decoder';

export interface SseEvent {
  /** The event block as received, without its blank-line terminator. */
  raw: string;
  /** The joined `data:` lines, or null for a comment-only block. */
  data: string | null;
  /** `data` parsed as a JSON object, when it is one. */
  json: Record<string, unknown> | null;
  /** json.type (generation_start, content_delta, generation_end, error), '[DONE]', or null. */
  type: string | null;
}

/** Builds an event from one block of lines. */
export function toEvent(raw: string): SseEvent {
  const dataLines: string[] = [];
  for (const line of raw.split(/\r\n|\r|\n/)) {
    if (!line.startsWith('data:')) continue;
    const value = line.slice(5);
    dataLines.push(value.startsWith(' ') ? value.slice(1) : value);
  }
  const data = dataLines.length > 0 ? dataLines.join('\n') : null;
  if (data === null) return { raw, data, json: null, type: null };
  if (data.trim() === '[DONE]') return { raw, data, json: null, type: '[DONE]' };
  let json: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = JSON.parse(data);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch {
    json = null;
  }
  const type = typeof json?.type === 'string' ? json.type : null;
  return { raw, data, json, type };
}

/** The event for a JSON payload the gateway writes itself (replays, rewritten end events). */
export function jsonEvent(payload: Record<string, unknown>): SseEvent {
  return toEvent(`data: ${JSON.stringify(payload)}`);
}

export const doneEvent = (): SseEvent => toEvent('data: [DONE]');

const BLOCK_END = /\r\n\r\n|\n\n|\r\r/;

export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';

  /** Feeds a chunk; returns the events it completed. */
  push(chunk: Buffer | string): SseEvent[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const out: SseEvent[] = [];
    for (let match = BLOCK_END.exec(this.buffer); match; match = BLOCK_END.exec(this.buffer)) {
      const block = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      if (block.length > 0) out.push(toEvent(block));
    }
    return out;
  }

  /** The upstream ended: a last block without its blank line still counts. */
  end(): SseEvent[] {
    this.buffer += this.decoder.end();
    const rest = this.buffer.trim();
    this.buffer = '';
    return rest.length > 0 ? [toEvent(rest)] : [];
  }
}
