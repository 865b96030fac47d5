import { type Kysely, sql } from 'kysely';

/**
 * Units sold per product per shop-local day, kept up to date in each order's own transaction, so the
 * popular-products ranking reads a few rows per product whatever the number of orders.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE product_daily_sales (
      sales_date date NOT NULL,
      product_id bigint NOT NULL REFERENCES products (id),
      quantity   bigint NOT NULL CHECK (quantity > 0),
      PRIMARY KEY (sales_date, product_id)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE product_daily_sales`.execute(db);
}
