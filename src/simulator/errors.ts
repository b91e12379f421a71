// Error answers in the upstream's shape: `{error, message, details}` (plus any documented
// extra fields, such as the 429 body's retry_after), and the error codes per HTTP status.
import type { FastifyReply } from 'fastify';

export const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'not_authenticated',
  402: 'insufficient_tokens',
  403: 'insufficient_plan',
  404: 'not_found',
  422: 'validation_error',
  429: 'rate_limit_exceeded',
  500: 'provider_error',
  503: 'model_unavailable',
};

export function errorBody(status: number, message: string, details: Record<string, unknown> = {}, extra = {}) {
  const error = CODE_BY_STATUS[status] ?? (status < 500 ? 'bad_request' : 'provider_error');
  return { error, message, details, ...extra };
}

export function sendError(
  reply: FastifyReply,
  status: number,
  message: string,
  details: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply.code(status).send(errorBody(status, message, details, extra));
}
