// Regression: answers the gateway makes before any route runs (a 431 for a 100 KB header or a
// 64 KB request line, a malformed request, an undecodable URL, a request arriving while it
// shuts down) used fastify's default body, not the contract's {error, message, details}.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/** Sends raw bytes on a fresh connection and returns everything read until the server closes it. */
function raw(url: string, bytes: string, onSocket: (socket: Socket) => void = () => {}): Promise<string> {
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

/** The status and JSON bodies of the HTTP/1.1 answers in `text`, in order. */
function answers(text: string): Array<{ status: number; body: unknown }> {
  const found: Array<{ status: number; body: unknown }> = [];
  const re = /HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n/g;
  let match: RegExpExecArray | null;
  while ((match = re.exec(text))) {
    const length = Number(/content-length: (\d+)/i.exec(match[2])?.[1] ?? 0);
    const start = re.lastIndex;
    found.push({ status: Number(match[1]), body: JSON.parse(text.slice(start, start + length)) });
    re.lastIndex = start + length;
  }
  return found;
}

const shape = (code: string) => ({ error: code, message: expect.any(String), details: expect.any(Object) });

describe('answers made before a route runs are in the error shape', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => gw.close());

  it('a 100 KB header gets 431 headers_too_large in the error shape', async () => {
    const text = await raw(gw.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`);
    expect(answers(text)).toEqual([{ status: 431, body: shape('headers_too_large') }]);
  });

  it('a 64 KB request line gets 431 headers_too_large in the error shape', async () => {
    const text = await raw(gw.url, `GET /${'a'.repeat(64 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(answers(text)).toEqual([{ status: 431, body: shape('headers_too_large') }]);
  });

  it('a malformed request gets 400 bad_request in the error shape', async () => {
    const text = await raw(gw.url, 'NOT HTTP AT ALL\r\n\r\n');
    expect(answers(text)).toEqual([{ status: 400, body: shape('bad_request') }]);
  });

  it('an undecodable URL gets 400 bad_request in the error shape', async () => {
    const res = await fetch(`${gw.url}/api/v2/models/%zz`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(shape('bad_request'));
  });
});

describe('a request that arrives while the gateway shuts down', () => {
  it('gets 503 shutting_down in the error shape, after the in-flight one is answered', async () => {
    const gw = await startGateway({ simOptions: { latencyMs: 400 } });
    try {
      const key = await gw.team('ml');
      const body = JSON.stringify({ model: 'gpt-5', prompt: 'in flight at shutdown' });
      // The first request is in flight when close begins; the second, pipelined on the same
      // (busy, so still open) connection, arrives after.
      let socket: Socket | undefined;
      const pipelined = raw(
        gw.url,
        `POST /api/v2/generate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        (s) => (socket = s),
      );
      await vi.waitFor(() => expect(gw.sim.totalGenerateCalls()).toBe(1), { timeout: 5_000, interval: 5 });
      const closed = gw.app.close();
      await vi.waitFor(() => expect(gw.app.server.listening).toBe(false), { timeout: 5_000, interval: 1 });
      socket!.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const [first, second] = answers(await pipelined);
      await closed;
      expect(first).toMatchObject({ status: 200, body: { status: 'completed' } });
      expect(second).toEqual({ status: 503, body: shape('shutting_down') });
    } finally {
      await gw.close().catch(() => {});
    }
  });
});
