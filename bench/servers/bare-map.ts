// Reference: a bare fastify route that hashes the raw body with sha256 and answers from a
// Map (filling it on a first sight), the least a cache hit can cost. The gateway's hit path
// is compared with this.
import { createHash } from 'node:crypto';
import Fastify from 'fastify';
import { serveChild } from './child.js';

/** About the size of a simulated text generation (229 bytes). */
function answerFor(key: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      id: key.slice(0, 12),
      status: 'completed',
      model_slug: 'gpt-5-nano',
      result_text: 'Simulated answer from the bare sha256 + Map reference route',
      result_url: null,
      thumbnail_url: null,
      error: null,
      tokens_spent: 0,
      processing_ms: 0,
      result_metadata: null,
    }),
  );
}

await serveChild(async () => {
  const app = Fastify({ logger: false });
  const answers = new Map<string, Buffer>();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.post('/api/v2/generate', async (request, reply) => {
    const key = createHash('sha256').update(request.body as Buffer).digest('hex');
    let answer = answers.get(key);
    if (!answer) {
      answer = answerFor(key);
      answers.set(key, answer);
    }
    return reply.type('application/json; charset=utf-8').send(answer);
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => app.close() };
});
