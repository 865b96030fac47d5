import { type Kysely, sql } from 'kysely';

/**
 * The purge of refresh tokens finds the logins past their lifetime by expires_at, a batch at a time: without
 * this index each batch would read every family of the last month.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX refresh_token_families_expires_at ON refresh_token_families (expires_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX refresh_token_families_expires_at`.execute(db);
}
