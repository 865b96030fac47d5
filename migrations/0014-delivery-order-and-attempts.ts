import { type Kysely, sql } from 'kysely';

/**
 * An order's events are delivered in the order they were written: an event is claimed only once every earlier
 * event of its order is delivered, which this index finds without reading the delivered history. And each
 * attempt is kept (its outcome, answer and duration), the last 20 of an event, for operators.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Bumped by each operator's retry or redelivery: an outcome of an attempt claimed before it is stale.
  await sql`ALTER TABLE data_platform_outbox ADD COLUMN generation integer NOT NULL DEFAULT 0`.execute(db);
  await sql`
    CREATE INDEX data_platform_outbox_undelivered_by_order ON data_platform_outbox (order_id, id)
    WHERE status <> 'DELIVERED'`.execute(db);
  await sql`
    CREATE TABLE data_platform_delivery_attempts (
      id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      outbox_id    bigint NOT NULL REFERENCES data_platform_outbox (id) ON DELETE CASCADE,
      attempted_at timestamptz NOT NULL,
      outcome      text NOT NULL CHECK (outcome IN ('DELIVERED', 'FAILED')),
      http_status  integer CHECK (http_status BETWEEN 100 AND 599),
      duration_ms  integer NOT NULL CHECK (duration_ms >= 0),
      error        text CHECK (length(error) <= 500),
      CONSTRAINT data_platform_delivery_attempts_error CHECK ((outcome = 'FAILED') = (error IS NOT NULL))
    )`.execute(db);
  await sql`
    CREATE INDEX data_platform_delivery_attempts_by_event ON data_platform_delivery_attempts (outbox_id, id)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE data_platform_delivery_attempts`.execute(db);
  await sql`DROP INDEX data_platform_outbox_undelivered_by_order`.execute(db);
  await sql`ALTER TABLE data_platform_outbox DROP COLUMN generation`.execute(db);
}
