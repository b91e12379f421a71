// The one log line a request gets, built from chosen facts: never headers, bodies or keys.
// Written when the reply ends (onResponse), or for a stream whose client left, when the
// gateway has finished reading it.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

export function logRequest(request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}): void {
  if (!(request.log as Logger).isLevelEnabled('info')) return;
  const f = request.facts;
  const round = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms));
  request.log.info(
    {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      team: f.team,
      model: f.model,
      cache: f.cache,
      tokens_spent: f.tokensSpent,
      tokens_saved: f.tokensSaved,
      upstream_status: f.upstreamStatus,
      upstream_ms: round(f.upstreamMs),
      ttfb_ms: round(f.ttfbMs),
      trace_id: request.span?.spanContext().traceId,
      ...extra,
    },
    'request',
  );
}
