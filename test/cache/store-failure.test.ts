// The cache fails soft: with its Redis gone mid-run, requests still go upstream and succeed
// (x-gateway-cache: bypass), and the failure is logged once per interval, not per request.
// Uses a Redis of its own (a child process killed mid-test), never the shared one.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type StoreConnection } from '../../src/store/connection.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { generate, unique } from './helpers.js';

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** Starts redis-server and waits (at most 10 s) until it accepts a connection. */
async function startRedis(): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const probe = await openStore(url);
      await probe.close();
      return { proc, url };
    } catch {
      await sleep(100);
    }
  }
  proc.kill('SIGKILL');
  throw new Error('redis-server did not start within 10 s');
}

describe('the cache when its Redis goes away', () => {
  let redis: { proc: ChildProcess; url: string };
  let store: StoreConnection;
  let gw: TestGateway;
  const lines: string[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    store = await openStore(redis.url, { redisPrefix: 'egw-test:store-failure:' });
    const logStream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    gw = await startGateway({ backend: 'redis', store, logStream, config: { quota: { on_store_error: 'allow' } } });
  });
  afterAll(async () => {
    await gw?.close();
    await store?.close();
    if (redis && redis.proc.exitCode === null && redis.proc.signalCode === null) redis.proc.kill('SIGKILL');
  });

  it('serves every request with bypass, and logs the failure once', async () => {
    const key = await gw.team('ml');
    const unseenKey = await gw.team('ml'); // issued, never used: not in any replica's memory
    const known = { model: 'gpt-5', prompt: unique('before the outage') };
    expect((await generate(gw, key, known)).headers['x-gateway-cache']).toBe('miss');
    expect((await generate(gw, key, known)).headers['x-gateway-cache']).toBe('hit');

    redis.proc.kill('SIGKILL');
    await once(redis.proc, 'exit');

    // Store calls now fail at once (no offline queue): quota follows on_store_error (allow
    // here), the cache answers bypass; its own calls are also skipped for a second after a failure.
    const prompts = Array.from({ length: 6 }, () => ({ model: 'gpt-5', prompt: unique('during the outage') }));
    const answers = await Promise.all(prompts.map((body) => generate(gw, key, body)));
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(200);
      expect(answer.headers['x-gateway-cache']).toBe('bypass');
      expect(answer.json()).toMatchObject({ status: 'completed', tokens_spent: 2 });
      expect(gw.sim.callsFor(prompts[i])).toBe(1);
    }
    // What this replica already holds in memory is still served.
    expect((await generate(gw, key, known)).headers['x-gateway-cache']).toBe('hit');

    // A key this replica has not verified yet cannot be checked: refused with 503, never let through.
    const unchecked = await gw.api('POST', '/api/v2/generate', unseenKey, { model: 'gpt-5', prompt: unique('unchecked') });
    expect(unchecked.status).toBe(503);
    expect(unchecked.json().error).toBe('store_unavailable');

    const storeErrors = lines.filter((line) => line.includes('"msg":"store error"'));
    expect(storeErrors).toHaveLength(1);
  }, 60_000);
});
