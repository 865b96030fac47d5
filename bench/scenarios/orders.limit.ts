import type pg from 'pg';
import { named, outcome } from '../limits.js';

/** The hot product's row alone: its stock taken with the guard, nothing else. */
export function takeStockAtLimit(pool: pg.Pool, productId: number, quantity: number): Promise<string> {
  return outcome(
    pool,
    'UPDATE products SET stock = stock - $2, updated_at = now() WHERE id = $1 AND stock >= $2 RETURNING stock',
    [productId, quantity],
    (rows) => (rows === 1 ? 'PAID' : 'INSUFFICIENT_STOCK'),
  );
}

/**
 * An order without a coupon, every write PlaceOrder makes in one statement, in the service's own order: the
 * products read without a lock and the order decided on them (every product found and in stock, the
 * balance, locked, enough), then the order, its lines, its payment, the debit and its ledger entry, the
 * outbox event and the units sold (appended for the rollup's fold) written, and only then the products
 * locked in ascending id order and the stock taken, each still in stock at the price read. A product that
 * no longer fits fails the statement with checkout_products_changed() (migration 0017), undoing the writes,
 * so a hot product's row is held from its lock to the commit only.
 */
const PLACE_ORDER = `
  WITH item AS (
    SELECT * FROM unnest($2::bigint[], $3::int[]) WITH ORDINALITY AS item (product_id, quantity, line_no)
  ), line AS (
    SELECT item.line_no, p.id AS product_id, p.name, item.quantity, p.price AS unit_price,
           p.price * item.quantity AS amount, p.stock >= item.quantity AS in_stock
    FROM item JOIN products p ON p.id = item.product_id
  ), verdict AS (
    SELECT count(*) = cardinality($2::bigint[]) AS found, count(*) = cardinality($2::bigint[]) AND bool_and(in_stock) AS in_stock,
           sum(amount) AS total
    FROM line
  ), wallet AS (
    SELECT amount FROM balances WHERE user_id = $1::bigint AND (SELECT in_stock FROM verdict) FOR UPDATE
  ), go AS (
    SELECT verdict.total FROM verdict, wallet WHERE verdict.in_stock AND wallet.amount >= verdict.total
  ), placed AS (
    INSERT INTO orders (user_id, status, total_amount, discount_amount, paid_amount, user_coupon_id, created_at)
    SELECT $1::bigint, 'PAID', total, 0, total, NULL, now() FROM go
    RETURNING id, paid_amount, created_at
  ), placed_lines AS (
    INSERT INTO order_lines (order_id, line_no, product_id, name, quantity, unit_price, amount)
    SELECT placed.id, line.line_no, line.product_id, line.name, line.quantity, line.unit_price, line.amount
    FROM placed, line
    RETURNING 1
  ), payment AS (
    INSERT INTO payments (order_id, user_id, amount, paid_at) SELECT id, $1::bigint, paid_amount, created_at FROM placed
    RETURNING 1
  ), debited AS (
    UPDATE balances b SET amount = b.amount - placed.paid_amount, updated_at = placed.created_at
    FROM placed WHERE b.user_id = $1::bigint AND b.amount >= placed.paid_amount
    RETURNING b.amount
  ), ledger AS (
    INSERT INTO balance_ledger (user_id, type, amount, balance_after, order_id, created_at)
    SELECT $1::bigint, 'PAYMENT', -placed.paid_amount, debited.amount, placed.id, placed.created_at FROM placed, debited
    RETURNING 1
  ), outbox AS (
    INSERT INTO data_platform_outbox (order_id, payload, next_attempt_at, created_at)
    SELECT placed.id,
           jsonb_build_object(
             'orderId', placed.id, 'userId', $1::bigint,
             'items', (SELECT jsonb_agg(jsonb_build_object('productId', product_id, 'name', name, 'quantity', quantity,
                                                           'unitPrice', unit_price, 'amount', amount) ORDER BY line_no)
                       FROM line),
             'totalAmount', placed.paid_amount, 'discountAmount', 0, 'paidAmount', placed.paid_amount,
             'paidAt', to_char(placed.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
           now(), now()
    FROM placed
    RETURNING 1
  ), rollup AS (
    INSERT INTO product_sales_pending (sales_date, product_id, quantity)
    SELECT (placed.created_at AT TIME ZONE $4::text)::date, line.product_id, line.quantity FROM placed, line
    RETURNING 1
  ), written AS MATERIALIZED (
    -- Read here, so that every write above is in before a product is locked below.
    SELECT (SELECT count(*) FROM placed_lines) + (SELECT count(*) FROM payment) + (SELECT count(*) FROM ledger)
           + (SELECT count(*) FROM outbox) + (SELECT count(*) FROM rollup) AS rows
  ), locked AS (
    SELECT p.id, p.stock >= line.quantity AND p.price = line.unit_price AS fits
    FROM products p JOIN line ON line.product_id = p.id
    WHERE EXISTS (SELECT FROM placed) AND (SELECT rows FROM written) >= 0
    ORDER BY p.id
    FOR NO KEY UPDATE OF p
  ), complete AS (
    SELECT count(*) FILTER (WHERE fits) = cardinality($2::bigint[]) AS ok FROM locked
  ), taken AS (
    UPDATE products p SET stock = p.stock - line.quantity, updated_at = now()
    FROM line, complete WHERE complete.ok AND p.id = line.product_id
    RETURNING p.id
  )
  SELECT (SELECT id FROM placed) AS order_id, found, in_stock,
         CASE WHEN EXISTS (SELECT FROM placed) AND NOT (SELECT ok FROM complete) THEN checkout_products_changed() END
           AS changed
  FROM verdict`;

/** checkout_products_changed()'s refusal: a product found changed once locked (too little stock left). */
const PRODUCTS_CHANGED = 'orders_products_as_decided';

export interface OrderItem {
  readonly productId: number;
  readonly quantity: number;
}

export async function placeOrderAtLimit(
  pool: pg.Pool,
  timeZone: string,
  userId: number,
  items: readonly OrderItem[],
): Promise<string> {
  try {
    const { rows } = await pool.query<{ order_id: string | null; found: boolean; in_stock: boolean }>(
      named(PLACE_ORDER, [userId, items.map((item) => item.productId), items.map((item) => item.quantity), timeZone]),
    );
    const answer = rows[0]!;
    if (answer.order_id !== null) return 'PAID';
    if (!answer.found) return 'PRODUCT_NOT_FOUND';
    return answer.in_stock ? 'INSUFFICIENT_BALANCE' : 'INSUFFICIENT_STOCK';
  } catch (error) {
    if ((error as { constraint?: unknown }).constraint === PRODUCTS_CHANGED) return 'INSUFFICIENT_STOCK';
    return `ERROR ${error instanceof Error ? error.message : String(error)}`;
  }
}
