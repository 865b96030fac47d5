import { type Kysely, sql } from 'kysely';

/**
 * How an order's statement that takes its products last undoes itself: its other writes are already in
 * when it finds a product changed since the order was decided, so it fails, and every write goes with it.
 * A check violation naming a constraint of its own, as the coupon window's trigger raises, so the adapter
 * tells it from any other failure. VOLATILE (the default), so the planner never calls it ahead of time;
 * its search_path pinned as every function of the schema's is.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db);
  await sql`
    CREATE FUNCTION checkout_products_changed() RETURNS boolean
    LANGUAGE plpgsql SET search_path = ${sql.id(rows[0]!.schema)}, pg_temp AS $$
    BEGIN
      RAISE EXCEPTION 'a product of the order changed since the order was decided'
        USING ERRCODE = 'check_violation', TABLE = 'orders', CONSTRAINT = 'orders_products_as_decided';
    END
    $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION checkout_products_changed()`.execute(db);
}
