// The total timeout of an upstream call covers the body too: an upstream that sends its
// headers at once and then drips the body (never idle long enough for the body timeout) is
// cut at total_ms with 504 upstream_timeout, outcome unknown.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamClient, type UpstreamFailure } from '../src/upstream/client.js';

describe('upstream total timeout', () => {
  let server: Server;
  let client: UpstreamClient;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":');
      const drip = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(drip));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new UpstreamClient({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: 'nb_test',
      connections: 1,
      connectTimeoutMs: 1_000,
      getTimeoutMs: 1_000,
      retry: { max_attempts: 1, base_delay_ms: 1, max_delay_ms: 1, max_retry_after_s: 0 },
    });
  });
  afterAll(async () => {
    await client.close().catch(() => {});
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('cuts a dripping body at total_ms', async () => {
    const started = performance.now();
    const failure = (await client.generate(Buffer.from('{}'), { first_byte_ms: 1_000, total_ms: 300 }).catch((err: unknown) => err)) as UpstreamFailure;
    const took = performance.now() - started;
    expect(failure.name).toBe('UpstreamFailure');
    expect(failure.outcome).toBe('unknown');
    expect(failure.gatewayError).toMatchObject({ statusCode: 504 });
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2_000);
  });
});
