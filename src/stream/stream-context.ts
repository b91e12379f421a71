// What every step of serving one streamed generate request needs: the few services streaming
// uses (not the whole bag), the request and its reply, the parsed body, which documented variant
// the client used, and its cache plan.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { CachePlan } from '../cache/cache-policy.js';
import type { ResponseCache } from '../cache/response-cache.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { PaidPath } from '../generate/paid-call.js';
import type { GenerateRequest } from '../generate/request-body.js';
import type { GrantStore } from '../generations/grant-store.js';
import type { AccountBalance } from '../quota/account-balance.js';
import type { QuotaService } from '../quota/quota-service.js';
import type { UpstreamClient } from '../upstream/client.js';
import type { StreamVariant } from './replay.js';
import type { StreamService } from './stream-service.js';

/** The services streaming touches. */
export interface StreamServices {
  config: { cache: Config['cache']; stream: Config['stream'] };
  cache: ResponseCache;
  paid: PaidPath;
  quota: QuotaService;
  upstream: UpstreamClient;
  grants: GrantStore;
  balance: AccountBalance;
  clock: Clock;
  /** Upstream readers still running, and listeners told of answers whose client left. */
  streams: StreamService;
  log: Logger;
  storeError(err: unknown): void;
}

/** What reading one upstream stream and settling it touches (./upstream-pump.ts, ./broken-stream.ts). */
export type PumpServices = Pick<StreamServices, 'paid' | 'grants' | 'clock' | 'balance' | 'log' | 'storeError'>;

export interface StreamContext {
  services: StreamServices;
  request: FastifyRequest;
  reply: FastifyReply;
  parsed: GenerateRequest;
  variant: StreamVariant;
  /** The cache's plan (key, read, write, TTL); null when the cache stays out (no-store, cache or model off). */
  plan: CachePlan | null;
}
