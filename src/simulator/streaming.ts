// Server-sent events for text models, both documented variants: POST /api/v2/generate/stream
// (ends with `tokens_spent`) and POST /api/v2/generate + `"stream": true` (the guide's end event:
// `tokens_used` + `balance_remaining`). Events are written to the raw socket as produced.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OutgoingHttpHeaders } from 'node:http';
import { answerText, failWith, type Generation } from './generations.js';
import type { SimState } from './state.js';

export type StreamVariant = 'reference' | 'guide';

/** The answer split into deltas: one per word, each with its leading whitespace. */
export function splitDeltas(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [text];
}

export async function streamGeneration(
  state: SimState,
  req: FastifyRequest,
  reply: FastifyReply,
  gen: Generation,
  variant: StreamVariant,
): Promise<void> {
  const started = Date.now();
  reply.hijack();
  const res = reply.raw;
  res.on('error', () => {});
  let hungUp = false;
  res.on('close', () => (hungUp = !res.writableFinished));
  const headers: OutgoingHttpHeaders = {
    ...(reply.getHeaders() as OutgoingHttpHeaders),
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  };
  res.writeHead(200, headers);
  const write = (data: string): Promise<void> =>
    new Promise((resolve) => {
      if (res.destroyed || res.writableEnded) return resolve();
      res.write(`data: ${data}\n\n`, () => resolve());
    });
  let lastWrite: Promise<void> = Promise.resolve();
  const send = (event: object): void => {
    lastWrite = write(JSON.stringify(event));
  };
  const finish = (): void => {
    void write('[DONE]');
    if (!res.destroyed) res.end();
  };

  send({ type: 'generation_start', id: gen.id, model: gen.model.slug });
  const deltas = splitDeltas(answerText(gen.model, gen.input));
  const delta = (i: number) => send({ type: 'content_delta', delta: deltas[i] ?? '' });

  if (gen.input.includes('[fail]')) {
    failWith(gen, 'Content policy violation');
    send({ type: 'error', message: 'Content policy violation' });
    return finish();
  }
  if (gen.input.includes('[stream-error]')) {
    delta(0);
    failWith(gen, 'provider failed');
    send({ type: 'error', message: 'provider failed' });
    return finish();
  }
  if (gen.input.includes('[stream-break]')) {
    delta(0);
    delta(1);
    // The provider finished (and charged); only the connection to the client is lost.
    state.complete(gen, Date.now() - started);
    await lastWrite; // flushed to the socket, then cut
    req.raw.socket?.destroy();
    return;
  }

  const chunkDelay = state.opts.streamChunkDelayMs;
  for (let i = 0; i < deltas.length; i++) {
    if (i > 0 && chunkDelay > 0) await state.sleep(chunkDelay);
    if (state.closed) break;
    if (state.opts.abortOnDisconnect && hungUp) return failWith(gen, 'client disconnected');
    delta(i);
    if (i === 0) {
      const gate = state.streamGate();
      if (gate) await gate;
    }
  }
  // A provider that cancels on hang-up charges nothing for a stream nobody reads to the end.
  if (state.opts.abortOnDisconnect && hungUp) return failWith(gen, 'client disconnected');
  state.complete(gen, Date.now() - started);
  const end =
    variant === 'reference'
      ? { type: 'generation_end', id: gen.id, tokens_spent: gen.tokens_spent }
      : { type: 'generation_end', id: gen.id, tokens_used: gen.tokens_spent, balance_remaining: state.balance };
  send(end);
  finish();
}
