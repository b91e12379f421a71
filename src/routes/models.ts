// The model catalog routes, forwarded with the nb_ key and kept for a few minutes: every team
// asks the same questions, and the answers change rarely. A slug never leaves its path segment.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errors } from '../errors.js';
import { readJsonObject } from '../generate/request-body.js';
import type { Services } from '../services.js';
import { calculatePriceSchema, modelSchema, modelsSchema } from './schemas.js';
import type { UpstreamResponse } from '../upstream/client.js';

const TTL_MS = 5 * 60_000;
const MAX_ENTRIES = 1_000;

/**
 * The slug as one path segment upstream. `encodeURIComponent` leaves `.` and `..` as they are,
 * and an upstream (or a proxy before it) that resolves dot segments would serve
 * `/api/v2/models/..` as `/api/v2/`: a route the gateway never forwards. No model is named so.
 */
function slugPath(slug: string): string {
  if (slug === '.' || slug === '..') throw errors.notFound(`No model ${slug}`);
  return `/api/v2/models/${encodeURIComponent(slug)}`;
}

export async function modelRoutes(app: FastifyInstance, opts: { services: Services }): Promise<void> {
  const { upstream, clock } = opts.services;
  const cache = new Map<string, { at: number; res: UpstreamResponse }>();

  const relay = (reply: FastifyReply, res: UpstreamResponse) => reply.code(res.status).headers(res.headers).send(res.body);

  async function cachedRead(method: 'GET' | 'POST', path: string, body?: Buffer): Promise<UpstreamResponse> {
    const key = `${method} ${path} ${body?.toString('utf8') ?? ''}`;
    const hit = cache.get(key);
    if (hit && clock.now() - hit.at < TTL_MS) return hit.res;
    const res = await upstream.read(method, path, body);
    if (res.status === 200) {
      if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
      cache.set(key, { at: clock.now(), res });
    }
    return res;
  }

  app.get('/api/v2/models', { schema: modelsSchema }, async (_req, reply) => relay(reply, await cachedRead('GET', '/api/v2/models')));
  app.get<{ Params: { slug: string } }>('/api/v2/models/:slug', { schema: modelSchema }, async (req, reply) =>
    relay(reply, await cachedRead('GET', slugPath(req.params.slug))),
  );
  app.post<{ Params: { slug: string } }>('/api/v2/models/:slug/calculate-price', { schema: calculatePriceSchema }, async (req, reply) => {
    const sent = Buffer.isBuffer(req.body) && req.body.length ? req.body : null;
    // A body that is not one JSON object is refused here (400), not by upstream: each refusal
    // there would count against the account's request caps.
    if (sent) readJsonObject(sent);
    const body = sent ?? Buffer.from('{}');
    return relay(reply, await cachedRead('POST', `${slugPath(req.params.slug)}/calculate-price`, body));
  });
}
