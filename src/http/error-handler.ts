// The one place errors become answers: GatewayErrors keep their code and status, fastify's
// own errors are mapped onto the catalogue, and anything unexpected is logged with its
// context but answered as a bare 500, so no internal message ever reaches a client. Answers
// made before a route exists (a 431, a bad URL, a request while closing) take the same shape.
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, errors } from '../errors.js';
import { UpstreamFailure } from '../upstream/client.js';

/** A route schema's complaints as `details.fields`: the field's dotted path -> what is wrong. */
function validationFields(err: FastifyError): Record<string, string> {
  // A Map, not an object: a field named __proto__ would set the object's prototype, not name itself.
  const fields = new Map<string, string>();
  for (const issue of err.validation ?? []) {
    const params = issue.params as { missingProperty?: string; additionalProperty?: string };
    const path = [...issue.instancePath.split('/').filter(Boolean), params.missingProperty ?? params.additionalProperty ?? []].flat();
    // A pattern says what it wants in its schema's description (a regex is no message for a person).
    const described = issue.keyword === 'pattern' ? (issue as { parentSchema?: { description?: unknown } }).parentSchema?.description : undefined;
    const problem =
      params.additionalProperty !== undefined
        ? 'unknown field'
        : typeof described === 'string'
          ? `must be ${described}`
          : (issue.message ?? 'invalid');
    const field = path.join('.') || (err.validationContext ?? 'body');
    if (!fields.has(field)) fields.set(field, problem);
  }
  // Under `anyOf` (a list or null) every branch complains; the deepest complaint is the one
  // that names what is wrong (allowed_models.0, not "allowed_models must be null").
  const paths = [...fields.keys()];
  for (const path of paths) if (paths.some((other) => other.startsWith(`${path}.`))) fields.delete(path);
  return Object.fromEntries(fields); // own properties, whatever their names
}

function toGatewayError(err: FastifyError, bodyLimit: number): GatewayError | null {
  if (err instanceof GatewayError) return err;
  if (err instanceof UpstreamFailure) return err.gatewayError;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.bodyTooLarge(bodyLimit);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.badRequest('Request body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GatewayError(415, 'unsupported_media_type', 'Send the body as application/json');
    case 'FST_ERR_VALIDATION': {
      const fields = validationFields(err);
      const named = Object.entries(fields).map(([field, problem]) => `${field} ${problem}`);
      return errors.validation(`Invalid request ${err.validationContext ?? 'body'}: ${named.join('; ')}`, { fields });
    }
    default:
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return errors.badRequest('Bad request');
      return null;
  }
}

/**
 * Fastify's `clientErrorHandler`: a request Node's parser refused (headers or request line over
 * the limit, malformed, too slow) is answered on the raw socket, in the error shape, then closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const error =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? errors.headersTooLarge()
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? errors.requestTimeout()
        : errors.badRequest('Malformed HTTP request');
  answerOnSocket(socket, error);
}

/** A CONNECT never reaches a route (Node emits it apart, and closes the connection in silence if nobody listens). */
export function connectHandler(_request: unknown, socket: Socket): void {
  if (!socket.destroyed) answerOnSocket(socket, errors.notFound('CONNECT is not served by the gateway'));
}

/** Writes `error` as a whole HTTP answer on the raw socket, then closes it. */
function answerOnSocket(socket: Socket, error: GatewayError): void {
  const body = JSON.stringify(error.toBody());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Fastify's `frameworkErrors`: a URL it cannot decode, a path parameter over its length limit. */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  reply.code(400).send(errors.badRequest(err.code === 'FST_ERR_BAD_URL' ? 'Malformed URL' : 'Bad request').toBody());
}

export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.server.on('connect', connectHandler);
  // Fastify's own 503 while closing (return503OnClosing) has a body of its own: this one has ours.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw errors.shuttingDown();
  });
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const known = toGatewayError(err, bodyLimit);
    if (known) {
      if (known.statusCode >= 500) request.log.warn({ err: known.cause ?? known, code: known.code }, 'request failed');
      request.facts.outcome ??= known.statusCode === 402 ? 'quota_rejected' : known.statusCode === 429 ? 'rate_limited' : 'error';
      // A 429 says when to retry in the standard header as well as in the body.
      if (typeof known.extra.retry_after === 'number') reply.header('retry-after', String(known.extra.retry_after));
      return reply.code(known.statusCode).send(known.toBody());
    }
    request.log.error({ err }, 'unexpected error');
    request.facts.outcome ??= 'error';
    return reply.code(500).send(errors.internal().toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errors.notFound(`No route ${request.method} ${request.url.split('?')[0]}`).toBody());
  });
}
