import { type Kysely, sql } from 'kysely';

/**
 * Orders and cancellations append their units here instead of updating the day's rollup row, so a flash
 * sale queues on the product's stock row alone; a background fold moves these rows into
 * product_daily_sales. No foreign key: the order's statement already holds the product's row, and the fold
 * checks the rollup's key when it writes there. Quantities are signed: a cancellation appends the units it
 * takes back as a negative row.
 *
 * product_daily_sales_live is the rollup with what is not folded yet: what every reader of the rollup
 * reads, so no answer depends on when the fold last ran.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE product_sales_pending (
      id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      sales_date date NOT NULL,
      product_id bigint NOT NULL,
      quantity   bigint NOT NULL CHECK (quantity <> 0)
    )`.execute(db);
  await sql`
    CREATE VIEW product_daily_sales_live AS
      SELECT sales_date, product_id, sum(quantity)::bigint AS quantity
      FROM (
        SELECT sales_date, product_id, quantity FROM product_daily_sales
        UNION ALL
        SELECT sales_date, product_id, quantity FROM product_sales_pending
      ) AS sales
      GROUP BY sales_date, product_id`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Fold what is pending first, so going back loses no sale, under the fold's lock so that no instance
  // folds the same rows meanwhile.
  await sql`SELECT pg_advisory_xact_lock(hashtextextended('fold ' || current_schema() || '.product_sales_pending', 0))`.execute(
    db,
  );
  await sql`
    WITH summed AS (
      SELECT sales_date, product_id, sum(quantity) AS quantity FROM product_sales_pending GROUP BY 1, 2
    ), added AS (
      UPDATE product_daily_sales r SET quantity = r.quantity + s.quantity
      FROM summed s WHERE r.sales_date = s.sales_date AND r.product_id = s.product_id
      RETURNING r.sales_date, r.product_id
    )
    INSERT INTO product_daily_sales (sales_date, product_id, quantity)
    SELECT s.sales_date, s.product_id, s.quantity FROM summed s
    WHERE s.quantity <> 0
      AND NOT EXISTS (SELECT FROM added a WHERE a.sales_date = s.sales_date AND a.product_id = s.product_id)`.execute(
    db,
  );
  await sql`DROP VIEW product_daily_sales_live`.execute(db);
  await sql`DROP TABLE product_sales_pending`.execute(db);
}
