// Child spans of a request's trace, for the steps worth seeing (authentication, cache lookup,
// coalescing wait, quota reserve and settle, the upstream call). With no tracer (traces off)
// a step runs as it is, with nothing allocated for tracing.
import { SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api';

/**
 * Runs `step` inside a span `name` under the active span (the request's). `step` may add
 * attributes as it learns them (statuses, tokens); a throw marks the span as an error by its
 * class and code only, never its message, so no secret or prompt can reach a trace.
 */
export function inSpan<T>(tracer: Tracer | undefined, name: string, attributes: Attributes, step: (span?: Span) => Promise<T>): Promise<T> {
  if (!tracer) return step();
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await step(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute('error.type', errorType(err));
      throw err;
    } finally {
      span.end();
    }
  });
}

/** What kind of error, for a trace: the gateway's error code, or the class name. */
export function errorType(err: unknown): string {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    return (err as Error).constructor?.name ?? 'Error';
  }
  return typeof err;
}
