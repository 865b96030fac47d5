/** The module `node --import` must load before the service for its spans (what `npm start` does). */
export const TRACING_PRELOAD = './src/adapters/tracing/preload.ts';

type Env = Readonly<Record<string, string | undefined>>;

const set = (value: string | undefined) => value !== undefined && value.trim() !== '';

/**
 * Tracing is on when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT, or the traces-only
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), unless OpenTelemetry's own switches turn it off (OTEL_SDK_DISABLED,
 * OTEL_TRACES_EXPORTER=none). Off, the SDK is never loaded: a request pays nothing for it.
 */
export function tracingConfigured(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return false;
  return set(env.OTEL_EXPORTER_OTLP_ENDPOINT) || set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}
