import { type Kysely, sql } from 'kysely';

/**
 * Limits per client address (issue 19). `client_rate_limits` counts the unauthenticated auth requests of
 * each address in its current window, one row per address, updated by one upsert per request.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE client_rate_limits (
      client_address text PRIMARY KEY,
      window_start   timestamptz NOT NULL,
      count          bigint NOT NULL CHECK (count > 0)
    )`.execute(db);
  await sql`CREATE INDEX client_rate_limits_window_start ON client_rate_limits (window_start)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE client_rate_limits`.execute(db);
}
