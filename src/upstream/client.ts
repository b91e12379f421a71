// The one way to reach the Elumenta API: a keep-alive undici Pool that adds the nb_ key,
// applies per-modality timeouts, and retries only what surely did no work upstream. A POST
// to generate is never retried blindly: there is no idempotency key, so it could pay twice.
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, errors as undiciErrors } from 'undici';
import type { Readable } from 'node:stream';
import { errors, type GatewayError } from '../errors.js';

export interface Timeouts {
  first_byte_ms: number;
  total_ms: number;
}

export interface RetryPolicy {
  max_attempts: number;
  base_delay_ms: number;
  max_delay_ms: number;
  /** An upstream 429 is retried here only if it asks to wait this long or less. */
  max_retry_after_s: number;
}

export interface UpstreamClientOptions {
  baseUrl: string;
  apiKey: string;
  connections: number;
  connectTimeoutMs: number;
  getTimeoutMs: number;
  retry: RetryPolicy;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface UpstreamStream {
  status: number;
  headers: Record<string, string>;
  body: Readable;
}

/** Where a failed call stands: `not_sent` surely did no work; `unknown` may have been charged. */
export type FailureOutcome = 'not_sent' | 'unknown';

export class UpstreamFailure extends Error {
  override name = 'UpstreamFailure';
  constructor(
    readonly gatewayError: GatewayError,
    readonly outcome: FailureOutcome,
    cause: unknown,
  ) {
    super(gatewayError.message, { cause });
  }
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH']);

/** Maps a transport error to the contract's 502/503/504 and whether the request may have done work. */
export function classifyFailure(err: unknown): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  const code = (err as { code?: string }).code ?? '';
  const name = (err as { name?: string }).name ?? '';
  if (NOT_SENT_CODES.has(code)) return new UpstreamFailure(errors.upstreamUnavailable(err), 'not_sent', err);
  if (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    name === 'TimeoutError' ||
    name === 'AbortError'
  ) {
    return new UpstreamFailure(errors.upstreamTimeout(err), 'unknown', err);
  }
  return new UpstreamFailure(errors.upstreamBadGateway(err), 'unknown', err);
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding', 'date', 'server']);
/** The account's hourly and daily request counts: account-wide figures, which no team may see. */
const ACCOUNT_HEADER_PREFIX = 'x-ratelimit-';

/** Upstream headers as the gateway may relay them: one value each, without hop-by-hop or account-wide headers. */
function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name.startsWith(ACCOUNT_HEADER_PREFIX)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export class UpstreamClient {
  private readonly pool: Pool;
  private readonly pathPrefix: string;
  private readonly authorization: string;

  constructor(private readonly options: UpstreamClientOptions) {
    const url = new URL(options.baseUrl);
    this.pathPrefix = url.pathname.replace(/\/+$/, '');
    this.authorization = `Bearer ${options.apiKey}`;
    this.pool = new Pool(url.origin, {
      connections: options.connections,
      connect: { timeout: options.connectTimeoutMs },
      keepAliveTimeout: 30_000,
      // Per-request timeouts below; these are only the outer bounds.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: this.authorization, accept: 'application/json', ...extra };
  }

  /** One call, body read whole. Transport failures throw UpstreamFailure. */
  private async once(method: 'GET' | 'POST', path: string, body: Buffer | undefined, timeouts: Timeouts): Promise<UpstreamResponse> {
    // The whole call, body included, within total_ms: one plain timer, cleared at the end
    // (AbortSignal.timeout costs twice as much and its timer outlives the call).
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException('upstream total timeout', 'TimeoutError')), timeouts.total_ms);
    try {
      const res = await this.pool.request({
        method,
        path: this.pathPrefix + path,
        headers: this.headers(body ? { 'content-type': 'application/json' } : {}),
        body,
        headersTimeout: timeouts.first_byte_ms,
        bodyTimeout: timeouts.total_ms,
        signal: deadline.signal,
      });
      // arrayBuffer() copies the chunks into one new buffer; Buffer.from(ArrayBuffer) shares it.
      const whole = Buffer.from(await res.body.arrayBuffer());
      return { status: res.statusCode, headers: flattenHeaders(res.headers), body: whole };
    } catch (err) {
      throw classifyFailure(err);
    } finally {
      clearTimeout(timer);
    }
  }

  private backoff(attempt: number): number {
    const { base_delay_ms, max_delay_ms } = this.options.retry;
    return Math.random() * Math.min(max_delay_ms, base_delay_ms * 2 ** attempt);
  }

  /** Seconds to wait before retrying a response, or null when it must not be retried. */
  private retryDelay(res: UpstreamResponse, attempt: number): number | null {
    if (res.status === 503) return this.backoff(attempt);
    if (res.status !== 429) return null;
    let retryAfter = Number.NaN;
    try {
      retryAfter = Number((JSON.parse(res.body.toString('utf8')) as { retry_after?: unknown }).retry_after);
    } catch {
      return null;
    }
    if (!Number.isFinite(retryAfter) || retryAfter > this.options.retry.max_retry_after_s) return null;
    return retryAfter * 1000 + this.backoff(attempt);
  }

  /**
   * POST /api/v2/generate (or another generate path). Retried only when the request surely
   * did no work: connection refused or not made, 503, or 429 with a short retry_after.
   */
  async generate(body: Buffer, timeouts: Timeouts, path = '/api/v2/generate'): Promise<UpstreamResponse> {
    const { max_attempts } = this.options.retry;
    for (let attempt = 0; ; attempt++) {
      const last = attempt + 1 >= max_attempts;
      let res: UpstreamResponse;
      try {
        res = await this.once('POST', path, body, timeouts);
      } catch (err) {
        const failure = err as UpstreamFailure;
        if (failure.outcome !== 'not_sent' || last) throw failure;
        await sleep(this.backoff(attempt));
        continue;
      }
      const delay = last ? null : this.retryDelay(res, attempt);
      if (delay === null) return res;
      await sleep(delay);
    }
  }

  /** Opens a streamed POST (SSE); the caller reads and must consume or destroy the body. */
  async stream(body: Buffer, timeouts: Timeouts, path: string): Promise<UpstreamStream> {
    try {
      const res = await this.pool.request({
        method: 'POST',
        path: this.pathPrefix + path,
        headers: this.headers({ 'content-type': 'application/json', accept: 'text/event-stream' }),
        body,
        headersTimeout: timeouts.first_byte_ms,
        bodyTimeout: timeouts.first_byte_ms,
      });
      return { status: res.statusCode, headers: flattenHeaders(res.headers), body: res.body };
    } catch (err) {
      throw classifyFailure(err);
    }
  }

  /** Reads are safe to repeat: retried on any transport failure, 5xx or short 429. */
  async read(method: 'GET' | 'POST', path: string, body?: Buffer): Promise<UpstreamResponse> {
    const t = this.options.getTimeoutMs;
    const { max_attempts } = this.options.retry;
    for (let attempt = 0; ; attempt++) {
      const last = attempt + 1 >= max_attempts;
      try {
        const res = await this.once(method, path, body, { first_byte_ms: t, total_ms: t });
        const delay = last ? null : res.status >= 500 ? this.backoff(attempt) : this.retryDelay(res, attempt);
        if (delay === null) return res;
        await sleep(delay);
      } catch (err) {
        if (last) throw err;
        await sleep(this.backoff(attempt));
      }
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
