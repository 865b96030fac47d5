import { context, propagation, trace } from '@opentelemetry/api';

/**
 * The W3C trace context of the call chain, as headers (`traceparent`, and `tracestate` when there is one).
 * Null when no trace is active, which is always the case with tracing unconfigured: the OpenTelemetry API
 * is then a no-op and nothing of the SDK runs.
 */
export type TraceCarrier = Readonly<Record<string, string>>;

export function currentTraceCarrier(): TraceCarrier | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent === undefined ? null : carrier;
}

/** The active trace's id (32 hex digits), or null when none is active. */
export function currentTraceId(): string | null {
  const span = trace.getActiveSpan();
  return span?.spanContext().traceId ?? null;
}
