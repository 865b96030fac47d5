import { type Kysely, sql } from 'kysely';

/**
 * The functions of migration 0006 pinned the search_path they were made with (`FROM CURRENT`), which names
 * no pg_temp, and PostgreSQL then searches pg_temp first: a temporary table named like one of ours would
 * shadow it inside the function. Each now pins the schema it lives in, then pg_temp last, explicitly. The
 * schema is the migration's current_schema(), as FROM CURRENT took it (each test file has one of its own).
 */
const FUNCTIONS = ['coupon_stripes_split(bigint, bigint)', 'coupons_make_stripes()'];

export async function up(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db);
  for (const fn of FUNCTIONS) {
    await sql`ALTER FUNCTION ${sql.raw(fn)} SET search_path = ${sql.id(rows[0]!.schema)}, pg_temp`.execute(db);
  }
}

/** Back to what migration 0006 set: the search_path of the session that runs the migration. */
export async function down(db: Kysely<unknown>): Promise<void> {
  for (const fn of FUNCTIONS) await sql`ALTER FUNCTION ${sql.raw(fn)} SET search_path FROM CURRENT`.execute(db);
}
