import { FastifyOtelInstrumentation } from '@fastify/otel';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { maskLiterals } from './statement-text.js';
/** Where pg's instrumentation puts the statement (OpenTelemetry's database semantic conventions). */
const ATTR_DB_QUERY_TEXT = 'db.query.text';

/** The operational routes a prober calls every few seconds: their spans would only bury the requests. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

/**
 * The maintained instrumentations the service uses: Fastify's (a SERVER span per request, named by its route
 * pattern, continuing an incoming `traceparent`), pg's (a CLIENT span per statement) and undici's (a CLIENT
 * span per call to the data platform, which sends `traceparent` on).
 */
export function shopInstrumentations(): Instrumentation[] {
  return [
    new FastifyOtelInstrumentation({
      registerOnInitialization: true,
      // The request span alone: the use case's span sits under it. The hooks (access control, metrics) would
      // add a span each, and the handler's would mark every business refusal (a 404, a 409) as a failure.
      instrumentHooks: false,
      instrumentHandler: false,
      ignorePaths: ({ url }) => UNTRACED_PATHS.has(url.split('?', 1)[0] ?? url),
      requestHook: (span, request) =>
        span.updateName(`${request.method} ${request.routeOptions.url ?? 'unmatched route'}`),
    }),
    new PgInstrumentation({
      // Statements outside a request, a use case or a delivery (start-up, the relay's polling) stay untraced:
      // each would be a trace of its own, every few hundred milliseconds.
      requireParentSpan: true,
      enhancedDatabaseReporting: false,
      ignoreConnectSpans: true,
      requestHook: (span, { query }) => span.setAttribute(ATTR_DB_QUERY_TEXT, maskLiterals(query.text)),
    }),
    new UndiciInstrumentation({ requireParentforSpans: true }),
  ];
}
