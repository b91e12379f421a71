// What every step of serving one streamed generate request needs: the services, the request
// and its reply, the parsed body, which documented variant the client used, and its cache plan.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GenerateRequest } from '../generate/request-body.js';
import type { Services } from '../services.js';
import type { StreamVariant } from './replay.js';
import type { StreamPlan } from './stream-key.js';

export interface StreamContext {
  services: Services;
  request: FastifyRequest;
  reply: FastifyReply;
  parsed: GenerateRequest;
  variant: StreamVariant;
  /** Null when the client asked to keep out of the cache and of sharing (`no-store`). */
  plan: StreamPlan | null;
}
