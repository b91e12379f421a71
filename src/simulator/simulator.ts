// The upstream simulator server: a fastify 5 fake of the Elumenta API v2 (no logging, nothing
// heavy, so benchmarks measure the gateway), with test controls on the returned handle and
// the counters over HTTP at GET /__sim/calls and POST /__sim/reset (no auth).
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { errorBody, sendError } from './errors.js';
import { accountRoutes } from './routes-account.js';
import { generateRoutes } from './routes-generate.js';
import { SimState, type FaultKind } from './state.js';

export interface SimulatorOptions {
  apiKey?: string;            // the only accepted bearer key; default 'nb_sim_demo_key'
  balance?: number;           // initial token_balance; default 1_000_000
  plan?: string;              // default 'vip'
  latencyMs?: number;         // added delay before answering generate (default 0)
  videoDelayMs?: number;      // a pending job completes once this much simulator-clock time has passed (default 30_000)
  now?: () => number;         // simulator clock (ms); default Date.now
  streamChunkDelayMs?: number;// delay between SSE chunks (default 0)
  abortOnDisconnect?: boolean;// a stream whose client hangs up stops and fails, uncharged (default false: it finishes and charges)
  host?: string; port?: number; // listen (default 127.0.0.1:0)
}

export interface Simulator {
  url: string;
  port: number;
  apiKey: string;
  close(): Promise<void>;
  /** generate calls (both endpoints) received whose body equals `body` (canonical JSON, `stream` ignored) */
  callsFor(body: unknown): number;
  /** calls received per route key, e.g. 'POST /api/v2/generate', 'GET /api/v2/generate/:id' */
  calls(): Record<string, number>;
  totalGenerateCalls(): number;
  /** tokens charged by completed generations (async ones once completed) */
  tokensCharged(): number;
  balance(): number;
  setBalance(n: number): void;
  /** the next `count` (default 1) generate calls fail this way, then normal again */
  injectFault(kind: FaultKind, count?: number): void;
  /** hold every new stream after its first content_delta until releaseStreams() (stays on until holdStreams(false)) */
  holdStreams(on: boolean): void;
  releaseStreams(): void;
  /** counters back to zero and pending faults dropped; balance, generations and ids are kept */
  reset(): void;
}

const GENERATE = new Set(['POST /api/v2/generate', 'POST /api/v2/generate/stream']);

function routeKey(method: string, url: string | undefined): string | null {
  return url && url.startsWith('/api/') ? `${method} ${url}` : null;
}

function buildApp(state: SimState): FastifyInstance {
  // Any valid JSON is a body, as upstream reads it: `__proto__` is plain data here (nothing merges it).
  const app = Fastify({ logger: false, forceCloseConnections: true, onProtoPoisoning: 'ignore' });
  const bearer = `Bearer ${state.opts.apiKey}`;

  // Bodies without a JSON content type are still read as JSON.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('Body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });

  app.addHook('preHandler', (req, reply, done) => {
    const key = routeKey(req.method, req.routeOptions.url);
    if (key === null) return done();
    state.countRoute(key);
    const isGenerate = GENERATE.has(key);
    if (isGenerate) state.countBody(req.body);
    if (req.headers.authorization !== bearer) {
      sendError(reply, 401, 'Missing or invalid API key');
      return;
    }
    if (isGenerate) reply.headers(state.rate.hit());
    done();
  });

  app.setErrorHandler((err: { statusCode?: number; message?: string }, _req, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
    reply.code(status).send(errorBody(status, err.message ?? 'Internal error'));
  });
  app.setNotFoundHandler((req, reply) => {
    sendError(reply, 404, `Not found: ${req.method} ${req.url.split('?')[0]}`);
  });

  generateRoutes(app, state);
  accountRoutes(app, state);

  app.get('/__sim/calls', async () => ({
    calls: state.calls(),
    total_generate_calls: state.totalGenerateCalls(),
    tokens_charged: state.tokensCharged,
    balance: state.balance,
  }));
  app.post('/__sim/reset', async () => {
    state.reset();
    return { ok: true };
  });
  return app;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const state = new SimState(
    {
      apiKey: opts.apiKey ?? 'nb_sim_demo_key',
      plan: opts.plan ?? 'vip',
      latencyMs: opts.latencyMs ?? 0,
      videoDelayMs: opts.videoDelayMs ?? 30_000,
      streamChunkDelayMs: opts.streamChunkDelayMs ?? 0,
      abortOnDisconnect: opts.abortOnDisconnect ?? false,
      now: opts.now ?? Date.now,
    },
    opts.balance ?? 1_000_000,
  );
  const app = buildApp(state);
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 0 });
  const port = (app.server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    apiKey: state.opts.apiKey,
    close() {
      closing ??= (async () => {
        state.shutdown();
        await app.close();
      })();
      return closing;
    },
    callsFor: (body) => state.callsFor(body),
    calls: () => state.calls(),
    totalGenerateCalls: () => state.totalGenerateCalls(),
    tokensCharged: () => state.tokensCharged,
    balance: () => state.balance,
    setBalance: (n) => {
      state.balance = n;
    },
    injectFault: (kind, count) => state.injectFault(kind, count),
    holdStreams: (on) => state.holdStreams(on),
    releaseStreams: () => state.releaseStreams(),
    reset: () => state.reset(),
  };
}
