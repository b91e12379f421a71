// POST /api/v2/generate, POST /api/v2/generate/stream and GET /api/v2/generate/:id: validation,
// injected faults, pricing, instant vs pending (video) results, and the two streaming variants.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { findGeneratableModel } from './catalog.js';
import { sendError } from './errors.js';
import { hasInput, inputText, toJson } from './generations.js';
import { costOf } from './pricing.js';
import type { SimState } from './state.js';
import { streamGeneration, type StreamVariant } from './streaming.js';

type Obj = Record<string, unknown>;

/** Answers an injected fault; returns true when the request was handled by it. */
function applyFault(state: SimState, req: FastifyRequest, reply: FastifyReply): boolean {
  const fault = state.takeFault();
  if (fault === undefined) return false;
  const { rate, opts } = state;
  switch (fault) {
    case 429:
      reply.headers(rate.headers(true));
      sendError(reply, 429, `Hourly limit reached: ${rate.limitHour} requests/hour on ${opts.plan.toUpperCase()} plan`, {}, {
        retry_after: rate.retryAfter(), plan: opts.plan, limit_hour: rate.limitHour, limit_day: rate.limitDay,
      });
      return true;
    case 500:
      sendError(reply, 500, 'The model provider failed to process the request (simulated)');
      return true;
    case 503:
      sendError(reply, 503, 'The model is unavailable or overloaded (simulated)');
      return true;
    case 'drop':
      reply.hijack();
      req.raw.socket?.destroy();
      return true;
    case 'timeout': {
      reply.hijack();
      const socket = req.raw.socket;
      if (!socket || state.closed) {
        socket?.destroy();
        return true;
      }
      state.hanging.add(socket);
      socket.once('close', () => state.hanging.delete(socket));
      return true;
    }
  }
}

async function generate(state: SimState, req: FastifyRequest, reply: FastifyReply, stream: StreamVariant | null) {
  if (applyFault(state, req, reply)) return reply;
  const body = req.body as Obj | undefined;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return sendError(reply, 400, 'The body must be a JSON object');
  if (typeof body.model !== 'string') return sendError(reply, 400, '`model` is required and must be a string', { field: 'model' });
  if (!hasInput(body)) return sendError(reply, 400, 'One of `prompt`, `messages` or `text` is required', { field: 'prompt' });
  const model = findGeneratableModel(body.model);
  if (!model) return sendError(reply, 404, `Model not found: ${body.model}`, { model: body.model });
  const variant = stream ?? (body.stream === true ? 'guide' : null);
  if (variant && !model.supports_streaming) {
    return sendError(reply, 400, `Model ${model.slug} does not support streaming`, { model: model.slug });
  }

  await state.sleep(state.opts.latencyMs);
  if (state.closed) return reply;
  const cost = costOf(model, body);
  if (state.balance < cost) {
    return sendError(reply, 402, 'Insufficient tokens', { required: cost, balance: state.balance });
  }
  const input = inputText(body);
  const gen = state.newGeneration(model, body, input, cost);
  if (variant) {
    await streamGeneration(state, req, reply, gen, variant);
    return reply;
  }
  gen.processing_ms = state.opts.latencyMs;
  if (input.includes('[fail]')) {
    gen.status = 'failed';
    gen.error = 'Content policy violation';
  } else if (model.category !== 'video') {
    state.complete(gen, state.opts.latencyMs);
  }
  return reply.send(toJson(gen));
}

export function generateRoutes(app: FastifyInstance, state: SimState): void {
  app.post('/api/v2/generate', (req, reply) => generate(state, req, reply, null));
  app.post('/api/v2/generate/stream', (req, reply) => generate(state, req, reply, 'reference'));
  app.get<{ Params: { id: string } }>('/api/v2/generate/:id', async (req, reply) => {
    const gen = /^\d+$/.test(req.params.id) ? state.generations.get(Number(req.params.id)) : undefined;
    if (!gen) return sendError(reply, 404, `Generation not found: ${req.params.id}`, { id: req.params.id });
    return toJson(state.settle(gen));
  });
}
