// Schemas of the drop-in routes, for the OpenAPI document. Upstream's answers are relayed as
// bytes (never re-serialized); generate bodies are kept as sent and checked by
// src/generate/request-body.ts, so they are described (rawBody), not validated by fastify.
import { errorResponses, type DocumentedSchema } from '../http/openapi.js';

const security = [{ teamKey: [] }];
const tags = ['drop-in'];

const upstreamJson = (description: string) => ({
  description,
  content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } },
});

const generation = {
  type: 'object',
  description: "Upstream's generation, unchanged (a cache hit has tokens_spent 0)",
  properties: {
    id: { type: ['integer', 'string'], description: 'Opaque: an integer in the reference, a string in the streaming guide' },
    status: { type: 'string', enum: ['pending', 'completed', 'failed'] },
    model_slug: { type: 'string' },
    result_text: { type: ['string', 'null'] },
    result_url: { type: ['string', 'null'] },
    error: { type: ['string', 'null'] },
    tokens_spent: { type: 'integer' },
  },
  examples: [{ id: 18473, status: 'completed', model_slug: 'gpt-5', result_text: 'Quantum computing uses qubits...', result_url: null, error: null, tokens_spent: 3 }],
  additionalProperties: true,
};

const generateRequest = {
  type: 'object',
  required: ['model'],
  properties: {
    model: { type: 'string', minLength: 1, description: 'A model slug from GET /api/v2/models' },
    prompt: { description: 'One of prompt, messages or text is required' },
    messages: { type: 'array', items: { type: 'object', additionalProperties: true } },
    text: { type: 'string' },
    stream: { type: 'boolean', description: 'true: the answer is an SSE stream' },
  },
  additionalProperties: true,
  examples: [{ model: 'gpt-5', prompt: 'Explain quantum computing' }],
};

const cacheHeaders = {
  'x-gateway-cache': { description: 'hit | miss | coalesced | bypass', type: 'string', enum: ['hit', 'miss', 'coalesced', 'bypass'] },
  'x-gateway-tokens-saved': { description: 'On hit and coalesced: the tokens the team did not pay', type: 'string' },
};
const plainHeaders = {
  ...cacheHeaders,
  'x-gateway-budget-remaining': {
    description: "What this key may still spend now: the tightest of its team's and its own budgets and tokens per minute, and the account above its floor",
    type: 'string',
  },
};

const remainingHeader = { 'x-gateway-budget-remaining': plainHeaders['x-gateway-budget-remaining'] };
const retryAfter = { 'retry-after': { description: 'Seconds to wait before retrying (as the body\'s retry_after)', type: 'string' } };
/** Refusals of a limit say what the key may still spend, and a rate limit when to retry. */
const withHeaders = (errors: Record<number, unknown>, headers: Record<number, object>) =>
  Object.fromEntries(Object.entries(errors).map(([status, entry]) => [status, headers[Number(status)] ? { ...(entry as object), headers: headers[Number(status)] } : entry]));
const generateStatuses = errorResponses(400, 401, 402, 403, 413, 422, 429, 500, 502, 503, 504);
const generateErrors = withHeaders(generateStatuses, { 402: remainingHeader, 403: remainingHeader, 429: { ...remainingHeader, ...retryAfter } });
const streamErrors = withHeaders(generateStatuses, { 429: retryAfter });

const generateBody = {
  description: 'Forwarded to upstream byte for byte; fields the gateway does not know still reach upstream. Any content type is read as JSON.',
  content: { 'application/json': { schema: generateRequest } },
};

export const generateSchema: DocumentedSchema = {
  tags,
  security,
  summary: 'Generate (cached, coalesced, accounted); "stream": true answers SSE',
  description:
    'Request headers: `Cache-Control: no-cache` skips the cache lookup (the result is still stored), `no-store` keeps the cache ' +
    'out; `x-gateway-cache-ttl: <seconds>` sets how long this result is kept (0: not at all).',
  rawBody: generateBody,
  response: {
    200: {
      description: 'The upstream answer (a generation, or pending for async models), or an SSE stream when "stream": true',
      headers: plainHeaders,
      content: {
        'application/json': { schema: generation },
        'text/event-stream': { schema: { type: 'string' } },
      },
    },
    ...generateErrors,
  },
};

export const generateStreamSchema: DocumentedSchema = {
  tags,
  security,
  summary: 'Generate as an SSE stream, passed through as it arrives',
  rawBody: generateBody,
  response: {
    200: { description: 'Server-sent events', headers: plainHeaders, content: { 'text/event-stream': { schema: { type: 'string' } } } },
    ...streamErrors,
  },
};

export const generationSchema: DocumentedSchema = {
  tags,
  security,
  summary: 'Read a generation this team started or was handed by the cache',
  params: { type: 'object', properties: { id: { type: 'string', description: 'The generation id' } }, required: ['id'] },
  response: {
    200: { description: 'The generation, from upstream', content: { 'application/json': { schema: generation } } },
    ...errorResponses(401, 404, 500, 502, 503, 504),
  },
};

export const balanceSchema: DocumentedSchema = {
  tags,
  security,
  summary: "The key's view of the balance",
  response: {
    200: {
      description:
        "token_balance: what this key may still spend now (the tightest of its team's and its own budgets and tokens per minute, never more than the account holds above its floor)",
      type: 'object',
      required: ['token_balance', 'plan', 'plan_expires_at'],
      properties: {
        token_balance: { type: 'integer' },
        plan: { type: ['string', 'null'] },
        plan_expires_at: { type: ['string', 'null'] },
      },
      examples: [{ token_balance: 4200, plan: 'pro', plan_expires_at: '2027-01-01T00:00:00Z' }],
    },
    ...errorResponses(401, 500, 503),
  },
};

const slugParams = { type: 'object', properties: { slug: { type: 'string' } }, required: ['slug'] };
const catalogErrors = errorResponses(401, 500, 502, 503, 504);

export const modelsSchema: DocumentedSchema = {
  tags,
  security,
  summary: 'The model catalog (from upstream, kept for minutes)',
  response: { 200: upstreamJson('The catalog, from upstream'), ...catalogErrors },
};

export const modelSchema: DocumentedSchema = {
  tags,
  security,
  summary: 'One model (from upstream, kept for minutes)',
  params: slugParams,
  response: { 200: upstreamJson('The model, from upstream'), 404: upstreamJson("Upstream's not found"), ...catalogErrors },
};

export const calculatePriceSchema: DocumentedSchema = {
  tags,
  security,
  summary: "A request's price (from upstream, kept for minutes)",
  params: slugParams,
  rawBody: {
    description: 'The generate body to price, forwarded as sent',
    content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } },
  },
  response: { 200: upstreamJson('The price, from upstream'), 404: upstreamJson("Upstream's not found"), ...errorResponses(400, 413), ...catalogErrors },
};
