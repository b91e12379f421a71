// The error catalogue: every error the gateway itself raises, with its code, HTTP status and
// message, in the upstream's shape {error, message, details}. Upstream errors never pass
// through here: they are relayed unchanged. Messages never carry a key or a token.
export interface ErrorBody {
  error: string;
  message: string;
  details: Record<string, unknown>;
  [extra: string]: unknown;
}

export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** Extra top-level fields, e.g. retry_after, kept where the upstream puts them. */
    readonly extra: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toBody(): ErrorBody {
    return { error: this.code, message: this.message, details: this.details, ...this.extra };
  }
}

type Details = Record<string, unknown>;

export const errors = {
  notAuthenticated: (message = 'Missing, unknown, revoked or expired API key') =>
    new GatewayError(401, 'not_authenticated', message),
  forbidden: (message: string) => new GatewayError(403, 'forbidden', message),
  notFound: (message = 'Not found') => new GatewayError(404, 'not_found', message),
  badRequest: (message: string, details: Details = {}) => new GatewayError(400, 'bad_request', message, details),
  jsonTooDeep: (maxDepth: number) =>
    new GatewayError(400, 'bad_request', `JSON nested deeper than ${maxDepth} levels`, { max_depth: maxDepth }),
  validation: (message: string, details: Details = {}) => new GatewayError(422, 'validation_error', message, details),
  bodyTooLarge: (limit: number) =>
    new GatewayError(413, 'payload_too_large', `Request body exceeds the limit of ${limit} bytes`, { limit_bytes: limit }),
  conflict: (message: string) => new GatewayError(409, 'conflict', message),
  insufficientTokens: (message: string, details: Details) =>
    new GatewayError(402, 'insufficient_tokens', message, details),
  /** `details.limit` names the limit (requests_per_minute | tokens_per_minute), `details.scope` whose (team | key). */
  rateLimited: (retryAfterSeconds: number, details: Details & { limit: string; scope: string }) =>
    new GatewayError(
      429,
      'rate_limit_exceeded',
      `The ${details.scope}'s ${details.limit.replace(/_/g, ' ')} limit is reached; retry after ${retryAfterSeconds} s`,
      details,
      { retry_after: retryAfterSeconds },
    ),
  modelNotAllowed: (model: string, scope: 'team' | 'key') =>
    new GatewayError(403, 'model_not_allowed', `This ${scope} may not use the model ${model}`, { model, scope }),
  upstreamBadGateway: (cause: unknown) =>
    new GatewayError(502, 'upstream_error', 'The upstream API failed or answered something unreadable', {}, {}, { cause }),
  upstreamUnavailable: (cause: unknown) =>
    new GatewayError(503, 'upstream_unavailable', 'The upstream API cannot be reached right now', {}, {}, { cause }),
  upstreamTimeout: (cause: unknown, outcome: 'unknown' | 'not_sent' = 'unknown') =>
    new GatewayError(504, 'upstream_timeout', 'The upstream API did not answer in time', { outcome }, {}, { cause }),
  storeUnavailable: (cause: unknown) =>
    new GatewayError(503, 'store_unavailable', 'The gateway store is unreachable; request refused', {}, {}, { cause }),
  headersTooLarge: () =>
    new GatewayError(431, 'headers_too_large', 'The request line or headers are too large'),
  requestTimeout: () => new GatewayError(408, 'request_timeout', 'The request was not received in time'),
  shuttingDown: () =>
    new GatewayError(503, 'shutting_down', 'The gateway is shutting down; retry (another replica will answer)'),
  internal: () => new GatewayError(500, 'internal_error', 'Internal gateway error'),
};
