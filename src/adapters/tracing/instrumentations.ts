import { FastifyOtelInstrumentation } from '@fastify/otel';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
/** Where pg's instrumentation puts the statement (OpenTelemetry's database semantic conventions). */
const ATTR_DB_QUERY_TEXT = 'db.query.text';

/** The operational routes a prober calls every few seconds: their spans would only bury the requests. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

/**
 * Quoted literals in a statement, '…' with '' inside and E'…' alike. The statements the service writes carry
 * values as parameters, except the ones sent with COMMIT (they can't have parameters) and a few constants.
 */
const QUOTED = /'(?:[^']|'')*'/g;

/** The statement's text with every quoted literal replaced by '?': a span never carries a value. */
export function withoutLiterals(statement: string): string {
  return statement.replace(QUOTED, "'?'");
}

/**
 * The maintained instrumentations the service uses: Fastify's (a SERVER span per request, named by its route
 * pattern, continuing an incoming `traceparent`), pg's (a CLIENT span per statement) and undici's (a CLIENT
 * span per call to the data platform, which sends `traceparent` on).
 */
export function shopInstrumentations(): Instrumentation[] {
  return [
    new FastifyOtelInstrumentation({
      registerOnInitialization: true,
      // The request span and the handler's: the hooks (access control, metrics) would add a span each.
      instrumentHooks: false,
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
      requestHook: (span, { query }) => span.setAttribute(ATTR_DB_QUERY_TEXT, withoutLiterals(query.text)),
    }),
    new UndiciInstrumentation({ requireParentforSpans: true }),
  ];
}
