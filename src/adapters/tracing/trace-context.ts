import {
  type Context,
  ROOT_CONTEXT,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { TraceContext } from '../../domain/data-platform/delivery.js';

/**
 * The W3C trace context of the call chain, as the outbox stores it (the domain's TraceContext). W3C's format
 * whatever OTEL_PROPAGATORS says: it is what the data platform receives.
 */
export type TraceCarrier = TraceContext;

const w3c = new W3CTraceContextPropagator();

/**
 * The active trace's context, or null when none is active, which is always the case with tracing
 * unconfigured: the OpenTelemetry API is then a no-op and nothing of the SDK runs.
 */
export function currentTraceCarrier(): TraceCarrier | null {
  const carrier: Record<string, string> = {};
  w3c.inject(context.active(), carrier, defaultTextMapSetter);
  return carrier.traceparent === undefined ? null : carrier;
}

/** A context of its own with `carrier`'s span as the parent of the spans started in it. */
export function contextOf(carrier: TraceCarrier): Context {
  return w3c.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
}

/** The active span's ids as log fields (`trace_id`, `span_id`), or none outside a span. */
export function currentSpanFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** The active trace's id (32 hex digits), or null when none is active. */
export function currentTraceId(): string | null {
  const span = trace.getActiveSpan();
  return span?.spanContext().traceId ?? null;
}
