// OpenTelemetry traces, started only when the standard OTEL_* variables ask for them (an OTLP
// endpoint, and not OTEL_SDK_DISABLED). The SDK and the OTLP/HTTP exporter are imported here,
// lazily: a gateway without those variables loads none of it and pays nothing.
import type { Tracer } from '@opentelemetry/api';
import { version } from '../version.js';

export interface Tracing {
  tracer: Tracer;
  /** Exports what is still buffered, then stops. */
  shutdown(): Promise<void>;
}

type Env = Record<string, string | undefined>;

/** True when the environment asks for traces: an OTLP endpoint is set and the SDK is not disabled. */
export function tracingRequested(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((e) => e.trim().toLowerCase());
  if (exporters.includes('none')) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/**
 * Starts the trace SDK if the environment asks for it, else returns null. The exporter reads
 * its endpoint, headers and timeout from the same variables; the sampler and batching follow
 * OTEL_TRACES_SAMPLER and OTEL_BSP_*; the resource is `service.name` elumenta-gateway unless
 * OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise.
 */
export async function startTracing(env: Env = process.env): Promise<Tracing | null> {
  if (!tracingRequested(env)) return null;
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { detectResources, envDetector, resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  const resource = resourceFromAttributes({ 'service.name': 'elumenta-gateway', 'service.version': version }).merge(
    detectResources({ detectors: [envDetector] }),
  );
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  // The AsyncLocalStorage context manager: a span started while serving a request is a child of its span.
  provider.register();
  return { tracer: provider.getTracer('elumenta-gateway', version), shutdown: () => provider.shutdown() };
}
