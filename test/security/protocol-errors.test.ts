// Regression: answers the gateway makes before any route runs (a 431 for a 100 KB header or a
// 64 KB request line, a malformed request, an undecodable URL, a CONNECT, a request arriving while it
// shuts down) used fastify's default body, not the contract's {error, message, details}.
// Regression: a request whose body (or head) never finished arriving held its connection open
// for ever (fastify's requestTimeout is 0): no 408, whatever the wait.
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { answers as rawAnswers, raw } from '../helpers/raw-http.js';

/** Status and body of each answer in `text`. */
const answers = (text: string) => rawAnswers(text).map(({ status, body }) => ({ status, body }));

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

  // Regression: Node closes a CONNECT's connection without a word unless someone listens for it.
  it('a CONNECT request gets 404 not_found in the error shape, and the gateway keeps serving', async () => {
    const text = await raw(gw.url, 'CONNECT upstream.example:443 HTTP/1.1\r\nHost: upstream.example:443\r\n\r\n');
    expect(answers(text)).toEqual([{ status: 404, body: shape('not_found') }]);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });

  it('an undecodable URL gets 400 bad_request in the error shape', async () => {
    const res = await fetch(`${gw.url}/api/v2/models/%zz`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(shape('bad_request'));
  });
});

describe('a request that never finishes arriving', () => {
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    gw = await startGateway({ config: { server: { request_timeout_ms: 300 } } });
    key = await gw.team('ml');
  });
  afterAll(async () => gw.close());

  it.each([
    ['a chunked body that never ends', (k: string) => `POST /api/v2/generate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${k}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"mod\r\n`],
    ['a body shorter than its Content-Length', (k: string) => `POST /api/v2/generate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${k}\r\nContent-Length: 100\r\n\r\n{"model"`],
    ['a head that never ends', () => 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n'],
  ])('%s gets 408 request_timeout in the error shape, no upstream call, and the gateway keeps serving', async (_name, bytes) => {
    const before = gw.sim.totalGenerateCalls();
    // raw() waits (at most 10 s) for the gateway to answer and close the connection.
    expect(answers(await raw(gw.url, bytes(key)))).toEqual([{ status: 408, body: shape('request_timeout') }]);
    expect(gw.sim.totalGenerateCalls()).toBe(before);
    expect((await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: 'still serving' })).status).toBe(200);
  });

  it('bounds the arrival only: an answer may take longer than the limit', async () => {
    const slow = await startGateway({ config: { server: { request_timeout_ms: 300 } }, simOptions: { latencyMs: 1_000 } });
    try {
      const res = await slow.api('POST', '/api/v2/generate', await slow.team('ml'), { model: 'gpt-5', prompt: 'slow upstream' });
      expect(res.status).toBe(200);
    } finally {
      await slow.close();
    }
  });
});

describe('a request that arrives while the gateway shuts down', () => {
  // /readyz declares its own 503 (not ready): its schema once serialized shutting_down into a
  // 500 FST_ERR_FAILED_ERROR_SERIALIZATION, just when a load balancer polls it during a deploy.
  it.each(['/healthz', '/readyz'])('GET %s gets 503 shutting_down in the error shape, after the in-flight one is answered', async (path) => {
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
      socket!.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      const [first, second] = answers(await pipelined);
      await closed;
      expect(first).toMatchObject({ status: 200, body: { status: 'completed' } });
      expect(second).toEqual({ status: 503, body: shape('shutting_down') });
    } finally {
      await gw.close().catch(() => {});
    }
  });
});
