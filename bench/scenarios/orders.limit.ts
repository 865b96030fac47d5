import type pg from 'pg';
import { outcome } from '../limits.js';

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
 * An order without a coupon, every write PlaceOrder makes in one statement. The products are locked first,
 * in ascending id order, then the balance (the service's global lock order); the verdict (every product
 * found and in stock, the balance enough) is reached on the locked rows before anything is written, so
 * the order is placed whole or not at all; the stock and the balance are guarded again as they are written.
 * Then the order, its lines, its payment, the ledger entry, the outbox event and the units sold (appended
 * for the rollup's fold, as the service does) are written from the locked rows.
 */
const PLACE_ORDER = `
  WITH item AS (
    SELECT * FROM unnest($2::bigint[], $3::int[]) WITH ORDINALITY AS item (product_id, quantity, line_no)
  ), locked AS MATERIALIZED (
    SELECT id, name, price, stock FROM products WHERE id = ANY($2::bigint[]) ORDER BY id FOR NO KEY UPDATE
  ), line AS (
    SELECT item.line_no, locked.id AS product_id, locked.name, item.quantity, locked.price AS unit_price,
           locked.price * item.quantity AS amount, locked.stock >= item.quantity AS in_stock
    FROM item JOIN locked ON locked.id = item.product_id
  ), verdict AS (
    SELECT count(*) = cardinality($2::bigint[]) AS found, count(*) = cardinality($2::bigint[]) AND bool_and(in_stock) AS in_stock,
           sum(amount) AS total
    FROM line
  ), wallet AS (
    SELECT amount FROM balances WHERE user_id = $1::bigint AND (SELECT in_stock FROM verdict) FOR UPDATE
  ), go AS (
    SELECT verdict.total FROM verdict, wallet WHERE verdict.in_stock AND wallet.amount >= verdict.total
  ), taken AS (
    UPDATE products p SET stock = p.stock - item.quantity, updated_at = now()
    FROM item WHERE p.id = item.product_id AND p.stock >= item.quantity AND EXISTS (SELECT FROM go)
    RETURNING p.id
  ), placed AS (
    INSERT INTO orders (user_id, status, total_amount, discount_amount, paid_amount, user_coupon_id, created_at)
    SELECT $1::bigint, 'PAID', total, 0, total, NULL, now() FROM go
    RETURNING id, paid_amount, created_at
  ), placed_lines AS (
    INSERT INTO order_lines (order_id, line_no, product_id, name, quantity, unit_price, amount)
    SELECT placed.id, line.line_no, line.product_id, line.name, line.quantity, line.unit_price, line.amount
    FROM placed, line
  ), payment AS (
    INSERT INTO payments (order_id, user_id, amount, paid_at) SELECT id, $1::bigint, paid_amount, created_at FROM placed
  ), debited AS (
    UPDATE balances b SET amount = b.amount - placed.paid_amount, updated_at = placed.created_at
    FROM placed WHERE b.user_id = $1::bigint AND b.amount >= placed.paid_amount
    RETURNING b.amount
  ), ledger AS (
    INSERT INTO balance_ledger (user_id, type, amount, balance_after, order_id, created_at)
    SELECT $1::bigint, 'PAYMENT', -placed.paid_amount, debited.amount, placed.id, placed.created_at FROM placed, debited
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
  ), rollup AS (
    INSERT INTO product_sales_pending (sales_date, product_id, quantity)
    SELECT (placed.created_at AT TIME ZONE $4::text)::date, line.product_id, line.quantity FROM placed, line
  )
  SELECT (SELECT id FROM placed) AS order_id, found, in_stock FROM verdict`;

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
    const { rows } = await pool.query<{ order_id: string | null; found: boolean; in_stock: boolean }>(PLACE_ORDER, [
      userId,
      items.map((item) => item.productId),
      items.map((item) => item.quantity),
      timeZone,
    ]);
    const answer = rows[0]!;
    if (answer.order_id !== null) return 'PAID';
    if (!answer.found) return 'PRODUCT_NOT_FOUND';
    return answer.in_stock ? 'INSUFFICIENT_BALANCE' : 'INSUFFICIENT_STOCK';
  } catch (error) {
    return `ERROR ${error instanceof Error ? error.message : String(error)}`;
  }
}
