// A streaming client for the stream tests: POSTs through the gateway over a real port and
// reads the SSE answer with undici's body iteration, event by event, keeping comments
// (heartbeats) and the order in which everything arrived. It can also hang up mid-stream.
// Each stream has a connection of its own, closed with it: no spare keep-alive connection is
// left behind to hold up a server's close (Node waits for connections that never sent a request).
import { Client } from 'undici';
import { SseParser, type SseEvent } from '../../src/stream/sse-parser.js';

export interface StreamAnswer {
  status: number;
  headers: Record<string, string>;
  /** The next data event (`[DONE]` stays a string), or undefined at the end. */
  next(): Promise<any | undefined>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Every data event left. */
  rest(): Promise<any[]>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Reads until a comment block (a heartbeat) arrives; returns its text. */
  nextComment(): Promise<string | undefined>;
  /** The body, if the answer was not SSE (an error). */
  text(): Promise<string>;
  /** Hangs up. */
  abort(): void;
}

export async function openStream(
  url: string,
  path: string,
  key: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<StreamAnswer> {
  const controller = new AbortController();
  const client = new Client(url, { pipelining: 0 });
  const res = await client.request({
    path,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  res.body.once('close', () => void client.destroy());
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
  const chunks = res.body[Symbol.asyncIterator]();
  const parser = new SseParser();
  const queue: SseEvent[] = [];
  let ended = false;
  const pull = async (): Promise<SseEvent | undefined> => {
    while (queue.length === 0) {
      if (ended) return undefined;
      const { value, done } = await chunks.next();
      if (done) {
        ended = true;
        queue.push(...parser.end());
      } else queue.push(...parser.push(value as Buffer));
    }
    return queue.shift();
  };
  const next = async () => {
    for (let event = await pull(); event; event = await pull()) {
      if (event.data === null) continue; // a comment
      return event.type === '[DONE]' ? '[DONE]' : JSON.parse(event.data);
    }
    return undefined;
  };
  return {
    status: res.statusCode,
    headers: flat,
    next,
    async rest() {
      const out = [];
      for (let e = await next(); e !== undefined; e = await next()) out.push(e);
      return out;
    },
    async nextComment() {
      for (let event = await pull(); event; event = await pull()) if (event.data === null) return event.raw;
      return undefined;
    },
    text: () => res.body.text(),
    abort: () => {
      controller.abort();
      void client.destroy();
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const textOf = (events: any[]) =>
  events.filter((e) => e?.type === 'content_delta').map((e) => e.delta as string).join('');
