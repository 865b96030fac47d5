import { type Kysely, sql } from 'kysely';

/**
 * Instances still running the code before migration 0009 record failed logins without a client address;
 * during a rolling deploy their INSERT must not fail. Such attempts count toward the email's limit across
 * addresses only, as those made before 0009 do.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE login_attempts ALTER COLUMN client_address SET DEFAULT ''`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE login_attempts ALTER COLUMN client_address DROP DEFAULT`.execute(db);
}
