// The gateway's pino logger. Secrets are kept out twice over: request headers are never
// logged (one line per request is written from chosen facts), and redact paths cover any
// authorization header or key that could still reach a log call.
import pino, { type DestinationStream, type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'request.headers.authorization',
  'req.headers["x-api-key"]',
  'config.upstream.api_key',
  'config.admin.token',
  'config.metrics.token',
  'apiKey',
  'api_key',
  'key',
  'token',
  'authorization',
];

export function createLogger(level: string, stream?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, stream);
}
