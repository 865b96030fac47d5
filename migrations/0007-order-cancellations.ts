import { type Kysely, sql } from 'kysely';

/**
 * Cancellations and refunds (issue 13). Each cancellation is a record of its own, with its lines; an order's
 * lines are never edited, and what is left of it derives from them. The order keeps its status as a column,
 * so that a copy of a coupon can pay again once the order it paid for is cancelled in full (a copy pays for
 * one live order at most). Stock comes back as a stock adjustment of its own reason, the refund as a REFUND
 * entry, and the data platform hears of it through the same outbox as of a paid order.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE orders
      DROP CONSTRAINT orders_status_check,
      ADD CONSTRAINT orders_status_check CHECK (status IN ('PAID', 'PARTIALLY_CANCELLED', 'CANCELLED')),
      DROP CONSTRAINT orders_user_coupon_id_key`.execute(db);
  await sql`CREATE UNIQUE INDEX orders_user_coupon_id_live ON orders (user_coupon_id) WHERE status <> 'CANCELLED'`.execute(
    db,
  );

  await sql`
    CREATE TABLE order_cancellations (
      id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      order_id      bigint NOT NULL REFERENCES orders (id),
      refund_amount bigint NOT NULL CHECK (refund_amount >= 0),
      created_at    timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX order_cancellations_order_id_id ON order_cancellations (order_id, id)`.execute(db);

  // A cancelled line names a line of its order (the foreign key), priced as sold.
  await sql`
    CREATE TABLE order_cancellation_lines (
      cancellation_id bigint NOT NULL REFERENCES order_cancellations (id),
      order_id        bigint NOT NULL,
      product_id      bigint NOT NULL,
      quantity        integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
      unit_price      bigint NOT NULL CHECK (unit_price >= 1),
      amount          bigint NOT NULL CHECK (amount = unit_price * quantity),
      PRIMARY KEY (cancellation_id, product_id),
      CONSTRAINT order_cancellation_lines_order_line FOREIGN KEY (order_id, product_id)
        REFERENCES order_lines (order_id, product_id)
    )`.execute(db);
  await sql`CREATE INDEX order_cancellation_lines_order_product ON order_cancellation_lines (order_id, product_id)`.execute(
    db,
  );

  await sql`
    ALTER TABLE stock_adjustments
      ADD COLUMN cancellation_id bigint REFERENCES order_cancellations (id),
      DROP CONSTRAINT stock_adjustments_shape,
      ADD CONSTRAINT stock_adjustments_shape CHECK (
        (reason = 'INITIAL' AND delta >= 0 AND cancellation_id IS NULL)
        OR (reason = 'ADJUSTMENT' AND delta <> 0 AND cancellation_id IS NULL)
        OR (reason = 'CANCELLATION' AND delta > 0 AND cancellation_id IS NOT NULL)
      )`.execute(db);

  await sql`
    ALTER TABLE balance_ledger
      DROP CONSTRAINT balance_ledger_entry_shape,
      ADD CONSTRAINT balance_ledger_entry_shape CHECK (
        (type = 'CHARGE' AND amount BETWEEN 1 AND 10000000 AND order_id IS NULL)
        OR (type = 'PAYMENT' AND amount <= 0 AND order_id IS NOT NULL)
        OR (type = 'REFUND' AND amount >= 1 AND order_id IS NOT NULL)
      )`.execute(db);

  // Cancelled units leave the day they were sold; a day's row may come down to 0 and stays (the ranking skips it).
  await sql`
    ALTER TABLE product_daily_sales
      DROP CONSTRAINT product_daily_sales_quantity_check,
      ADD CONSTRAINT product_daily_sales_quantity_check CHECK (quantity >= 0)`.execute(db);

  // Two kinds of event through one outbox: one ORDER_PAID per order, one ORDER_CANCELLED per cancellation.
  await sql`
    ALTER TABLE data_platform_outbox
      ADD COLUMN type text NOT NULL DEFAULT 'ORDER_PAID' CHECK (type IN ('ORDER_PAID', 'ORDER_CANCELLED')),
      ADD COLUMN cancellation_id bigint UNIQUE REFERENCES order_cancellations (id),
      DROP CONSTRAINT data_platform_outbox_order_id_key,
      ADD CONSTRAINT data_platform_outbox_event_shape CHECK ((type = 'ORDER_CANCELLED') = (cancellation_id IS NOT NULL))`.execute(
    db,
  );
  await sql`
    CREATE UNIQUE INDEX data_platform_outbox_one_paid_event ON data_platform_outbox (order_id) WHERE type = 'ORDER_PAID'`.execute(
    db,
  );
}

/** Only for a database that has never had a cancellation: one that has cannot go back to PAID-only orders. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM order_cancellations) THEN
        RAISE EXCEPTION 'migration 0007 cannot be undone: orders have been cancelled (refunds, restocks and freed coupons would be lost)';
      END IF;
    END $$`.execute(db);
  await sql`DROP INDEX data_platform_outbox_one_paid_event`.execute(db);
  await sql`
    ALTER TABLE data_platform_outbox
      DROP CONSTRAINT data_platform_outbox_event_shape,
      DROP COLUMN cancellation_id,
      DROP COLUMN type,
      ADD CONSTRAINT data_platform_outbox_order_id_key UNIQUE (order_id)`.execute(db);
  await sql`
    ALTER TABLE product_daily_sales
      DROP CONSTRAINT product_daily_sales_quantity_check,
      ADD CONSTRAINT product_daily_sales_quantity_check CHECK (quantity > 0)`.execute(db);
  await sql`
    ALTER TABLE balance_ledger
      DROP CONSTRAINT balance_ledger_entry_shape,
      ADD CONSTRAINT balance_ledger_entry_shape CHECK (
        (type = 'CHARGE' AND amount BETWEEN 1 AND 10000000 AND order_id IS NULL)
        OR (type = 'PAYMENT' AND amount <= 0 AND order_id IS NOT NULL)
      )`.execute(db);
  await sql`
    ALTER TABLE stock_adjustments
      DROP CONSTRAINT stock_adjustments_shape,
      DROP COLUMN cancellation_id,
      ADD CONSTRAINT stock_adjustments_shape CHECK (
        (reason = 'INITIAL' AND delta >= 0) OR (reason = 'ADJUSTMENT' AND delta <> 0)
      )`.execute(db);
  await sql`DROP TABLE order_cancellation_lines`.execute(db);
  await sql`DROP TABLE order_cancellations`.execute(db);
  await sql`DROP INDEX orders_user_coupon_id_live`.execute(db);
  await sql`
    ALTER TABLE orders
      DROP CONSTRAINT orders_status_check,
      ADD CONSTRAINT orders_status_check CHECK (status = 'PAID'),
      ADD CONSTRAINT orders_user_coupon_id_key UNIQUE (user_coupon_id)`.execute(db);
}
