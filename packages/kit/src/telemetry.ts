import {
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';

/** NATS headers as far as trace propagation needs them. */
type HeaderBag = { get(key: string): string; set(key: string, value: string): void; has(key: string): boolean };

const setter: TextMapSetter<HeaderBag> = { set: (carrier, key, value) => carrier.set(key, value) };
const getter: TextMapGetter<HeaderBag | undefined> = {
  get: (carrier, key) => (carrier?.has(key) ? carrier.get(key) : undefined),
  keys: () => ['traceparent', 'tracestate'],
};

/**
 * Starts the OpenTelemetry SDK when an OTLP endpoint is configured; otherwise tracing stays a no-op and costs
 * nothing: the SDK and exporter are only loaded then (they weigh tens of MB per process). Returns the function
 * that flushes and stops it.
 */
export async function startTelemetry(service: string, otlpUrl: string | undefined): Promise<() => Promise<void>> {
  if (!otlpUrl) return async () => {};
  const [{ NodeSDK }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const sdk = new NodeSDK({
    serviceName: `agentpod-${service}`,
    traceExporter: new OTLPTraceExporter({ url: otlpUrl }),
    instrumentations: [],
  });
  sdk.start();
  return () => sdk.shutdown();
}

/** Writes the active trace context into NATS headers, so the receiver continues the same trace. */
export function injectTraceHeaders(headers: HeaderBag): void {
  propagation.inject(context.active(), headers, setter);
}

const tracer = () => trace.getTracer('agentpod');

/** Runs `fn` in a span that continues the trace carried by `headers` (if any). */
export function withIncomingSpan<T>(name: string, headers: HeaderBag | undefined, fn: (span: Span) => Promise<T>) {
  const parent = propagation.extract(context.active(), headers, getter);
  return tracer().startActiveSpan(name, { kind: SpanKind.SERVER }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Runs `fn` in a client span (an outgoing request or publish). */
export function withOutgoingSpan<T>(name: string, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { kind: SpanKind.CLIENT }, async (span) => {
    try {
      return await fn(span);
    } finally {
      span.end();
    }
  });
}
