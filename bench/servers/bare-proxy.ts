// Reference: a bare @fastify/http-proxy forward to the simulator, with its defaults (undici,
// keep-alive) and nothing else: no auth, no quota, no cache. The gateway's miss path is
// compared with this.
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';
import { serveChild } from './child.js';

const { upstream } = JSON.parse(process.argv[2] ?? '{}') as { upstream: string };

await serveChild(async () => {
  const app = Fastify({ logger: false });
  await app.register(proxy, { upstream });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => app.close() };
});
