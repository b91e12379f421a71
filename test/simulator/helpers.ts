// Small HTTP helpers for the simulator tests: JSON calls with the simulator's key and an
// incremental SSE reader, all over a real port with undici.
import { request } from 'undici';
import type { Simulator } from '../../src/simulator/index.js';

export interface JsonAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function call(sim: Simulator, method: 'GET' | 'POST', path: string, body?: unknown, key = sim.apiKey): Promise<JsonAnswer> {
  const res = await request(sim.url + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

export const post = (sim: Simulator, path: string, body: unknown, key?: string) => call(sim, 'POST', path, body, key);
export const get = (sim: Simulator, path: string, key?: string) => call(sim, 'GET', path, undefined, key);

/** An open SSE answer read event by event (`data:` payloads; `[DONE]` stays a string). */
export interface SseReader {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  next(): Promise<any | undefined>; // eslint-disable-line @typescript-eslint/no-explicit-any
  rest(): Promise<any[]>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function openStream(sim: Simulator, path: string, body: unknown): Promise<SseReader> {
  const res = await request(sim.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${sim.apiKey}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
  });
  const chunks = res.body[Symbol.asyncIterator]();
  let buffer = '';
  let ended = false;
  const next = async () => {
    for (;;) {
      const cut = buffer.indexOf('\n\n');
      if (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = block.replace(/^data: /, '');
        return data === '[DONE]' ? data : JSON.parse(data);
      }
      if (ended) return undefined;
      const { value, done } = await chunks.next();
      if (done) ended = true;
      else buffer += (value as Buffer).toString('utf8');
    }
  };
  const rest = async () => {
    const out = [];
    for (let e = await next(); e !== undefined; e = await next()) out.push(e);
    return out;
  };
  return { status: res.statusCode, headers: res.headers, next, rest };
}

/** A clock tests move by hand. */
export function fakeClock(start = Date.UTC(2026, 0, 15, 12, 0, 0)) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}
