// What the gateway learns about a request while serving it: who asked, for which model, how
// the cache answered, what upstream said and charged. The per-request log line and the
// metrics read it; it never holds a key.
import type { Principal } from '../auth/authenticator.js';

export type CacheOutcome = 'hit' | 'miss' | 'coalesced' | 'bypass';

export interface RequestFacts {
  team?: string;
  model?: string;
  cache?: CacheOutcome;
  tokensSpent?: number;
  tokensSaved?: number;
  upstreamStatus?: number;
  upstreamMs?: number;
  /** Streamed answers: ms from the request's arrival to the first event written to the client. */
  ttfbMs?: number;
  /** What the key may still spend after this request (x-gateway-budget-remaining), when the paid path knows it. */
  budgetRemaining?: number | null;
  /** How the generate request ended, for metrics: upstream, hit, coalesced, quota_rejected, rate_limited, error. */
  outcome?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    facts: RequestFacts;
  }
}
