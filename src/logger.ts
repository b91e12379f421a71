// The gateway's pino logger. Secrets are kept out twice over: request headers are never
// logged (one line per request is written from chosen facts), and redact paths cover any
// authorization header or key that could still reach a log call. The process's stdout is a
// destination of our own, so that shutting down completes whatever stdout does (closed, slow).
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

export interface StdoutLogs {
  stream: DestinationStream;
  /** Writes what is queued, then resolves; at once if stdout is gone, after `timeoutMs` if it is stuck. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * Asynchronous writes to fd 1. pino's own stdout destination flushes synchronously at exit and
 * retries a broken pipe forever (`serve | head -2` then SIGTERM never exited); here a write
 * error (EPIPE: the reader left) drops every later line instead, and closing is bounded.
 */
export function stdoutLogs(): StdoutLogs {
  const stream = pino.destination({ dest: 1, sync: false });
  let broken = false;
  stream.on('error', () => {
    broken = true;
    stream.write = () => true; // nobody reads stdout any more: drop the lines, keep serving
  });
  return {
    stream,
    close: (timeoutMs) =>
      new Promise<void>((resolve) => {
        if (broken) return resolve();
        const timer = setTimeout(resolve, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        stream.once('close', done);
        stream.once('error', done);
        stream.end();
      }),
  };
}
