import { type Kysely, sql } from 'kysely';

/**
 * The W3C trace context (`traceparent`, `tracestate`) of the request that wrote an outbox event, so its
 * delivery, hours later and on another instance, joins that request's trace. Null when tracing was off.
 * Adding a nullable column without a default rewrites nothing: instant on a large outbox.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE data_platform_outbox
      ADD COLUMN trace_context jsonb CHECK (jsonb_typeof(trace_context) = 'object')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE data_platform_outbox DROP COLUMN trace_context`.execute(db);
}
