// The admin operations as the CLI uses them, with two ways in: HTTP to a running gateway
// (--url, with GATEWAY_ADMIN_TOKEN), or straight to the store (STORE_URL) through the same
// app built in-process and driven with inject, so both ways run the very same admin routes.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import { createLogger } from '../logger.js';
import { openStore, storeOptionsOf } from '../store/connection.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface AdminClient {
  call(method: Method, path: string, body?: unknown): Promise<unknown>;
  close(): Promise<void>;
}

export class CliError extends Error {
  override name = 'CliError';
}

interface ErrorAnswer {
  error?: string;
  message?: string;
  details?: { fields?: Record<string, string> };
}

/** One line for an error answer: status, code, message, and each field at fault (`422 validation_error: ... (expires_at: ...)`). */
function errorLine(status: number, answer: ErrorAnswer | string | null): string {
  if (answer === null || typeof answer !== 'object') return `${status}: ${answer ?? 'no answer body'}`;
  const fields = Object.entries(answer.details?.fields ?? {}).map(([field, problem]) => `${field}: ${problem}`);
  return `${status} ${answer.error ?? 'error'}: ${answer.message ?? ''}${fields.length ? ` (${fields.join('; ')})` : ''}`;
}

function unwrap(status: number, text: string, contentType: string | undefined): unknown {
  const parsed: unknown = text && contentType?.includes('json') ? JSON.parse(text) : text || null;
  if (status >= 400) throw new CliError(errorLine(status, parsed as ErrorAnswer | string | null));
  return parsed;
}

export function httpAdminClient(baseUrl: string, token: string): AdminClient {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new CliError(`--url: not a URL: ${baseUrl} (e.g. http://127.0.0.1:8080)`);
  }
  return {
    async call(method, path, body) {
      let res: Response;
      try {
        res = await fetch(new URL(path, base), {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new CliError(`cannot reach the gateway at ${base.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
      }
      return unwrap(res.status, await res.text(), res.headers.get('content-type') ?? undefined);
    },
    close: async () => {},
  };
}

export async function directAdminClient(config: Config): Promise<AdminClient> {
  const token = randomBytes(24).toString('hex');
  const { buildApp } = await import('../app.js'); // only this way in needs the app: HTTP commands start without loading it
  const store = await openStore(config.store.url, storeOptionsOf(config.store));
  const app: FastifyInstance = await buildApp({
    config: { ...config, admin: { token } },
    store,
    logger: createLogger('silent'),
    background: false,
    bootstrapName: 'cli',
  });
  return {
    async call(method, path, body) {
      const res = await app.inject({
        method,
        url: path,
        headers: { authorization: `Bearer ${token}` },
        ...(body === undefined ? {} : { payload: body as object }),
      });
      return unwrap(res.statusCode, res.body, res.headers['content-type'] as string | undefined);
    },
    async close() {
      await app.close();
      await store.close();
    },
  };
}
