import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { shopInstrumentations } from './instrumentations.js';
import { tracingStarted } from './tracing-runtime.js';

/** The service's name in a trace unless OTEL_SERVICE_NAME (or OTEL_RESOURCE_ATTRIBUTES) names it. */
const DEFAULT_SERVICE_NAME = 'shop-backend';

/**
 * Starts OpenTelemetry's Node SDK for traces only, configured by the standard OTEL_* variables (exporter
 * endpoint and protocol, sampler, resource); the service's metrics stay Prometheus's and its logs pino's.
 * `spanProcessors` replaces the OTLP exporter (tests keep the spans in memory).
 */
export function startTracing(overrides: Pick<Partial<NodeSDKConfiguration>, 'spanProcessors'> = {}): NodeSDK {
  const named =
    process.env.OTEL_SERVICE_NAME !== undefined || /\bservice\.name=/.test(process.env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  const sdk = new NodeSDK({
    ...(named ? {} : { serviceName: DEFAULT_SERVICE_NAME }),
    instrumentations: shopInstrumentations(),
    // W3C's trace context whatever OTEL_PROPAGATORS says: the data platform is promised a `traceparent`.
    textMapPropagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
    metricReaders: [],
    logRecordProcessors: [],
    ...overrides,
  });
  sdk.start();
  tracingStarted(() => sdk.shutdown());
  return sdk;
}
