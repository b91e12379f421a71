// HTTP/1.1 at the byte level, for answers made on the connection itself (a 431, a 408, a
// 503 while shutting down) that a client library hides or cannot provoke: raw bytes on a fresh
// connection, and the answers read back in order (content-length or chunked bodies).
import { connect, type Socket } from 'node:net';

/** Sends raw bytes on a fresh connection and returns everything read until the server closes it. */
export function raw(url: string, bytes: string, onSocket: (socket: Socket) => void = () => {}): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(bytes));
    onSocket(socket);
    let out = '';
    socket.on('data', (chunk) => (out += chunk.toString()));
    socket.on('error', () => resolve(out)); // a reset after the answer: keep what arrived
    socket.on('close', () => resolve(out));
    setTimeout(() => reject(new Error(`no close; got ${out}`)), 10_000).unref();
  });
}

export interface RawAnswer {
  status: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  text: string;
  /** The body parsed as JSON (an SSE body stays text). */
  body: unknown;
}

/** The answers in `text`, in order. */
export function answers(text: string): RawAnswer[] {
  const found: RawAnswer[] = [];
  let at = 0;
  for (;;) {
    const start = text.indexOf('HTTP/1.1 ', at);
    const headEnd = text.indexOf('\r\n\r\n', start);
    if (start < 0 || headEnd < 0) return found;
    const [statusLine, ...lines] = text.slice(start, headEnd).split('\r\n');
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    let body = '';
    at = headEnd + 4;
    if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const sizeEnd = text.indexOf('\r\n', at);
        const size = parseInt(text.slice(at, sizeEnd), 16);
        if (!(size > 0)) {
          at = sizeEnd + 4;
          break;
        }
        body += text.slice(sizeEnd + 2, sizeEnd + 2 + size);
        at = sizeEnd + 2 + size + 2;
      }
    } else {
      body = text.slice(at, at + Number(headers['content-length'] ?? 0));
      at += body.length;
    }
    let parsed: unknown = body;
    try {
      parsed = JSON.parse(body);
    } catch {
      // not JSON (an SSE stream): kept as text
    }
    found.push({ status: Number(statusLine.split(' ')[1]), headers, text: body, body: parsed });
  }
}
