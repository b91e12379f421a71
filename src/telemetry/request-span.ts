// The server span of each request, when traces are on: started as the request arrives, made
// the active context for its hooks and its handler (so the steps' spans nest under it), ended
// with the answer's status and the request's facts (team, model, cache outcome, tokens,
// upstream status). Never a header, a body, a query string or a key.
import { context, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's server span (its trace id goes into the log line); null when traces are off. */
    span: Span | null;
  }
}

export function traceRequests(app: FastifyInstance, tracer: Tracer): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const span = tracer.startSpan(`${request.method} ${route}`, {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': request.method, 'http.route': route },
    });
    request.span = span;
    context.with(trace.setSpan(context.active(), span), done);
  });
  // A body is read from the socket, outside the request's context: handlers get it back here.
  app.addHook('onRoute', (route: RouteOptions) => {
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, request, reply) {
      if (!request.span) return handler.call(this, request, reply);
      return context.with(trace.setSpan(context.active(), request.span), handler, this, request, reply);
    };
  });
  app.addHook('onResponse', (request, reply, done) => {
    endRequestSpan(request, reply);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    request.span?.setAttribute('gateway.client_aborted', true);
    endRequestSpan(request, null);
    done();
  });
}

function endRequestSpan(request: FastifyRequest, reply: FastifyReply | null): void {
  const span = request.span;
  if (!span?.isRecording()) return; // off, not sampled, or already ended (an abort, then the response)
  const f = request.facts;
  if (reply) span.setAttribute('http.response.status_code', reply.statusCode);
  if (f.team !== undefined) span.setAttribute('gateway.team', f.team);
  if (f.model !== undefined) span.setAttribute('gateway.model', f.model);
  if (f.cache !== undefined) span.setAttribute('gateway.cache', f.cache);
  if (f.outcome !== undefined) span.setAttribute('gateway.outcome', f.outcome);
  if (f.tokensSpent !== undefined) span.setAttribute('gateway.tokens_spent', f.tokensSpent);
  if (f.tokensSaved !== undefined) span.setAttribute('gateway.tokens_saved', f.tokensSaved);
  if (f.upstreamStatus !== undefined) span.setAttribute('gateway.upstream_status', f.upstreamStatus);
  if (f.ttfbMs !== undefined) span.setAttribute('gateway.ttfb_ms', Math.round(f.ttfbMs)); // streams: the span lasts until the stream ends
  if (!reply || reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
