import { type Kysely, sql } from 'kysely';

/**
 * Limits per client address (issue 19). `client_rate_limits` counts the unauthenticated auth requests of
 * each address in its current window, one row per address, updated by one upsert per request. Failed
 * logins are counted per email and client address: attempts made before this migration have no address
 * and count toward the email's limit across addresses only.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE client_rate_limits (
      client_address text PRIMARY KEY,
      window_start   timestamptz NOT NULL,
      count          bigint NOT NULL CHECK (count > 0)
    )`.execute(db);
  await sql`CREATE INDEX client_rate_limits_window_start ON client_rate_limits (window_start)`.execute(db);

  await sql`ALTER TABLE login_attempts ADD COLUMN client_address text NOT NULL DEFAULT ''`.execute(db);
  await sql`ALTER TABLE login_attempts ALTER COLUMN client_address DROP DEFAULT`.execute(db);
  await sql`
    CREATE INDEX login_attempts_email_key_client_address
      ON login_attempts (email_key, client_address, attempted_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX login_attempts_email_key_client_address`.execute(db);
  await sql`ALTER TABLE login_attempts DROP COLUMN client_address`.execute(db);
  await sql`DROP TABLE client_rate_limits`.execute(db);
}
