// What every step of serving one streamed generate request needs: the services, the request
// and its reply, the parsed body, which documented variant the client used, and its cache plan.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CachePlan } from '../cache/cache-policy.js';
import type { GenerateRequest } from '../generate/request-body.js';
import type { Services } from '../services.js';
import type { StreamVariant } from './replay.js';

export interface StreamContext {
  services: Services;
  request: FastifyRequest;
  reply: FastifyReply;
  parsed: GenerateRequest;
  variant: StreamVariant;
  /** The cache's plan (key, read, write, TTL); null when the cache stays out (no-store, cache or model off). */
  plan: CachePlan | null;
}
