// Reads one upstream SSE stream to its end and accounts for it while relaying each event to
// the broadcast: generation_start grants the id, generation_end settles what it charged
// (tokens_spent or tokens_used), an error event releases. A stream cut before its end is
// settled from a poll of the generation (see broken-stream.ts), never left unaccounted.
import type { Readable } from 'node:stream';
import type { Reservation } from '../quota/quota-service.js';
import type { Broadcast, StreamResult } from './broadcast.js';
import { settleBrokenStream } from './broken-stream.js';
import { SseParser, type SseEvent } from './sse-parser.js';
import type { PumpServices } from './stream-context.js';

export interface PumpInput {
  services: PumpServices;
  broadcast: Broadcast;
  body: Readable;
  reservation: Reservation;
  model: string;
  cacheKey: string | null;
  /** Stop reading when every client has gone (stream.finish_after_disconnect: false). */
  stopWhenIdle: boolean;
}

/** The end event's charge: the reference says tokens_spent, the streaming guide tokens_used. */
export function chargeOf(end: Record<string, unknown>): number {
  const value = Number(end.tokens_spent ?? end.tokens_used ?? 0);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

export async function pumpUpstream(input: PumpInput): Promise<StreamResult> {
  const { services, broadcast, body, reservation } = input;
  const { paid, grants, clock, balance } = services;
  const started = performance.now();
  const parser = new SseParser();
  let id: string | null = null;
  let idValue: string | number | null = null; // as upstream wrote it: integer or string
  let text = '';
  let tokens = 0;
  let status: 'completed' | 'failed' | null = null;
  if (input.stopWhenIdle) broadcast.onIdle = () => body.destroy();

  const grant = async (generationId: string) => {
    await grants.grant(generationId, reservation.team, clock.now()).catch(services.storeError);
  };
  const handle = async (event: SseEvent) => {
    const json = event.json ?? {};
    const eventId = typeof json.id === 'number' || typeof json.id === 'string' ? String(json.id) : null;
    if (eventId && id === null) idValue = json.id as string | number;
    if (event.type === 'generation_start' && eventId) {
      id = eventId;
      await grant(id);
    } else if (event.type === 'content_delta' && typeof json.delta === 'string') {
      text += json.delta;
    } else if (event.type === 'generation_end' && status === null) {
      status = 'completed';
      tokens = chargeOf(json);
      if (eventId && eventId !== id) await grant((id = eventId));
      await paid.applyOutcome(reservation, { id, status: 'completed', tokensSpent: tokens, json: null }, null);
      if (typeof json.balance_remaining === 'number') balance.observe(json.balance_remaining);
    } else if (event.type === 'error' && status === null) {
      status = 'failed';
      await paid.applyOutcome(reservation, { id, status: 'failed', tokensSpent: 0, json: null }, null);
    }
    broadcast.publish(event);
  };

  try {
    for await (const chunk of body) for (const event of parser.push(chunk as Buffer)) await handle(event);
    for (const event of parser.end()) await handle(event);
  } catch (err) {
    // Upstream cut the stream, timed out between events, or every client left: settled below.
    services.log.debug({ err, generation_id: id }, 'upstream stream ended early');
  }
  const ms = Math.round(performance.now() - started);
  const final = status as 'completed' | 'failed' | null;
  if (final === null) return settleBrokenStream(services, { broadcast, reservation, generationId: id, text, cacheKey: input.cacheKey });
  const result: StreamResult = { status: final, generationId: id, text, tokensSpent: tokens, clean: true, body: null };
  if (final === 'completed') {
    result.body = {
      id: idValue,
      status: 'completed',
      model_slug: input.model,
      result_text: text,
      result_url: null,
      thumbnail_url: null,
      error: null,
      tokens_spent: tokens,
      processing_ms: ms,
      result_metadata: null,
    };
  }
  return result;
}
