// A stream upstream cut before its end event: the generation may still have finished and been
// charged. Its id (from generation_start) lets the gateway ask upstream; what it says settles
// the reservation, and a completed result whose text continues what the clients already have
// is sent as the rest of the stream. A poll that fails keeps it as a pending job the reconciler
// settles once upstream answers. Without an id (or with one upstream does not know) the charge
// stays reserved as outcome-unknown.
import type { Reservation } from '../quota/quota-service.js';
import type { Broadcast, StreamResult } from './broadcast.js';
import { doneEvent, jsonEvent } from './sse-parser.js';
import type { PumpServices } from './stream-context.js';

export interface BrokenStream {
  broadcast: Broadcast;
  reservation: Reservation;
  generationId: string | null;
  /** The text already relayed. */
  text: string;
  cacheKey: string | null;
}

export async function settleBrokenStream(services: Pick<PumpServices, 'paid' | 'log'>, broken: BrokenStream): Promise<StreamResult> {
  const { broadcast, reservation, generationId: id, text } = broken;
  const cut: StreamResult = { status: 'unknown', generationId: id, text, tokensSpent: 0, clean: false, body: null };
  const unread = (err: unknown) => services.log.warn({ err, generation_id: id }, 'poll after a broken stream failed: kept as a pending job');
  const generation = id === null ? null : (await services.paid.pollOwed(id, unread))?.generation;
  if (!generation) {
    await services.paid.unknown(reservation);
    return cut;
  }
  // Completed settles, failed releases, pending keeps the reservation as a job the reconciler ends.
  await services.paid.applyOutcome(reservation, generation, generation.status === 'pending' ? broken.cacheKey : null);
  if (generation.status !== 'completed') return { ...cut, status: generation.status ?? 'unknown' };

  const full = typeof generation.json?.result_text === 'string' ? generation.json.result_text : null;
  const result: StreamResult = { ...cut, status: 'completed', tokensSpent: generation.tokensSpent, body: generation.json };
  if (full === null || !full.startsWith(text)) return result;
  // The clients have a prefix of the result: finish their stream from it.
  if (full.length > text.length) broadcast.publish(jsonEvent({ type: 'content_delta', delta: full.slice(text.length) }));
  broadcast.publish(jsonEvent({ type: 'generation_end', id: generation.json?.id ?? id, tokens_spent: generation.tokensSpent }));
  broadcast.publish(doneEvent());
  return { ...result, text: full, clean: true };
}
