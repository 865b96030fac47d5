import type pg from 'pg';
import { MAX_BALANCE } from '../../src/domain/balance/balance.js';
import { MAX_STOCK } from '../../src/domain/product/product.js';
import type { OrderItem } from './orders.limit.js';

/**
 * A cancellation, every write CancelOrder makes in one statement. The order's row is locked first; what was
 * cancelled before is read from the statement's snapshot, which is complete only if no cancellation of the
 * order committed after it was taken: so the locked row's version (every cancellation rewrites the row's
 * status) is compared with the snapshot's, and when they differ (the statement waited on the row, or
 * another committed just before it) nothing is written and the statement is sent again, on a fresh
 * snapshot. On a current row the verdict is reached before anything is written: what is left per line (all
 * of it when `items` is null), the cumulative refund `floor(paid · C / total)` less what was refunded, in
 * numeric (paid · C passes bigint), and the balance's ceiling. Then the coupon copy and the balance are
 * locked, the products in ascending id order with their stock limit checked, and the cancellation, its
 * lines, the stock back with its adjustments, the refund with its ledger entry (none for 0), the copy freed
 * when nothing is left, the order's status, the sales of the order's day and the outbox row are written.
 */
const CANCEL_ORDER = `
  WITH held AS MATERIALIZED (
    SELECT id, user_id, user_coupon_id, paid_amount, total_amount, created_at, xmin::text AS version
    FROM orders WHERE id = $1::bigint FOR UPDATE
  ), fresh AS (
    SELECT (SELECT version FROM held) = (SELECT xmin::text FROM orders WHERE id = $1::bigint) AS fresh
  ), before AS (
    SELECT product_id, sum(quantity) AS quantity, sum(amount) AS amount
    FROM order_cancellation_lines WHERE order_id = $1::bigint GROUP BY product_id
  ), line AS (
    SELECT l.line_no, l.product_id, l.unit_price, l.quantity - coalesce(b.quantity, 0) AS left_quantity,
           coalesce(b.amount, 0) AS cancelled_amount
    FROM order_lines l LEFT JOIN before b ON b.product_id = l.product_id
    WHERE l.order_id = $1::bigint
  ), asked AS (
    SELECT a.product_id, a.quantity, a.n
    FROM unnest($2::bigint[], $3::int[]) WITH ORDINALITY AS a (product_id, quantity, n)
    UNION ALL
    SELECT product_id, left_quantity, line_no FROM line WHERE $2::bigint[] IS NULL AND left_quantity > 0
  ), wanted AS (
    SELECT asked.n, asked.product_id, asked.quantity, line.unit_price, line.unit_price * asked.quantity AS amount,
           coalesce(asked.quantity <= line.left_quantity, false) AS within
    FROM asked LEFT JOIN line ON line.product_id = asked.product_id
  ), verdict AS (
    SELECT count(*) > 0 AND bool_and(within) AS cancellable, sum(quantity) AS units, sum(amount) AS gross FROM wanted
  ), decided AS MATERIALIZED (
    SELECT held.id, held.user_id, held.user_coupon_id, held.created_at,
           (CASE WHEN held.total_amount = 0 THEN 0
                 ELSE div(held.paid_amount::numeric * ((SELECT sum(cancelled_amount) FROM line) + verdict.gross),
                          held.total_amount) END
            - (SELECT coalesce(sum(refund_amount), 0) FROM order_cancellations WHERE order_id = $1::bigint))::bigint
             AS refund,
           (SELECT sum(left_quantity) FROM line) = verdict.units AS nothing_left
    FROM held, fresh, verdict
    WHERE fresh.fresh AND verdict.cancellable
  ), copy AS (
    SELECT id FROM user_coupons WHERE id = (SELECT user_coupon_id FROM decided) FOR UPDATE
  ), wallet AS (
    SELECT amount FROM balances
    WHERE user_id = (SELECT user_id FROM decided) AND (SELECT count(*) FROM copy) >= 0
    FOR UPDATE
  ), go AS MATERIALIZED (
    SELECT decided.* FROM decided, wallet WHERE wallet.amount + decided.refund <= $4::bigint
  ), claimed AS MATERIALIZED (
    SELECT p.id, p.stock + w.quantity <= $5::bigint AS fits
    FROM products p JOIN wanted w ON w.product_id = p.id
    WHERE EXISTS (SELECT FROM go)
    ORDER BY p.id
    FOR NO KEY UPDATE OF p
  ), ok AS MATERIALIZED (
    SELECT go.* FROM go WHERE (SELECT count(*) FILTER (WHERE fits) FROM claimed) = (SELECT count(*) FROM wanted)
  ), recorded AS (
    INSERT INTO order_cancellations (order_id, refund_amount, created_at)
    SELECT id, refund, now() FROM ok
    RETURNING id, created_at
  ), recorded_lines AS (
    INSERT INTO order_cancellation_lines (cancellation_id, order_id, product_id, quantity, unit_price, amount)
    SELECT recorded.id, $1::bigint, w.product_id, w.quantity, w.unit_price, w.amount FROM recorded, wanted w
  ), restocked AS (
    UPDATE products p SET stock = p.stock + w.quantity, updated_at = recorded.created_at
    FROM recorded, wanted w WHERE p.id = w.product_id
  ), adjusted AS (
    INSERT INTO stock_adjustments (product_id, delta, reason, cancellation_id, created_at)
    SELECT w.product_id, w.quantity, 'CANCELLATION', recorded.id, recorded.created_at FROM recorded, wanted w
  ), credited AS (
    UPDATE balances b SET amount = b.amount + ok.refund, updated_at = recorded.created_at
    FROM ok, recorded WHERE b.user_id = ok.user_id AND ok.refund > 0
    RETURNING b.user_id, b.amount
  ), ledger AS (
    INSERT INTO balance_ledger (user_id, type, amount, balance_after, order_id, created_at)
    SELECT credited.user_id, 'REFUND', ok.refund, credited.amount, ok.id, recorded.created_at
    FROM credited, ok, recorded
  ), released AS (
    UPDATE user_coupons u SET used_at = NULL, order_id = NULL
    FROM ok, recorded WHERE u.id = ok.user_coupon_id AND u.order_id = ok.id AND ok.nothing_left
  ), marked AS (
    UPDATE orders o SET status = CASE WHEN ok.nothing_left THEN 'CANCELLED' ELSE 'PARTIALLY_CANCELLED' END
    FROM ok, recorded WHERE o.id = ok.id
  ), unsold AS (
    INSERT INTO product_sales_pending (sales_date, product_id, quantity)
    SELECT (ok.created_at AT TIME ZONE $6::text)::date, w.product_id, -w.quantity FROM ok, recorded, wanted w
  ), outbox AS (
    INSERT INTO data_platform_outbox (type, order_id, cancellation_id, payload, next_attempt_at, created_at)
    SELECT 'ORDER_CANCELLED', ok.id, recorded.id,
           jsonb_build_object(
             'orderId', ok.id, 'userId', ok.user_id,
             'items', (SELECT jsonb_agg(jsonb_build_object('productId', product_id, 'quantity', quantity) ORDER BY n)
                       FROM wanted),
             'refundAmount', ok.refund,
             'cancelledAt', to_char(recorded.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
           now(), now()
    FROM ok, recorded
  )
  SELECT (SELECT id FROM held) IS NOT NULL AS found, (SELECT fresh FROM fresh) AS fresh,
         (SELECT cancellable FROM verdict) AS cancellable, EXISTS (SELECT FROM go) AS within_balance,
         (SELECT id FROM recorded) AS cancellation_id`;

/** How many times the limit's cancellations were sent again because their order changed under them. */
export interface CancelRetries {
  count: number;
}

export async function cancelAtLimit(
  pool: pg.Pool,
  timeZone: string,
  orderId: number,
  items: readonly OrderItem[] | undefined,
  retries: CancelRetries = { count: 0 },
): Promise<string> {
  const values = [
    orderId,
    items?.map((item) => item.productId) ?? null,
    items?.map((item) => item.quantity) ?? null,
    MAX_BALANCE,
    MAX_STOCK,
    timeZone,
  ];
  try {
    for (;;) {
      const { rows } = await pool.query<{
        found: boolean;
        fresh: boolean | null;
        cancellable: boolean | null;
        within_balance: boolean;
        cancellation_id: string | null;
      }>(CANCEL_ORDER, values);
      const answer = rows[0]!;
      if (!answer.found) return 'ORDER_NOT_FOUND';
      if (!answer.fresh) {
        retries.count++;
        continue;
      }
      if (answer.cancellation_id !== null) return 'CANCELLED';
      if (!answer.cancellable) return 'ORDER_NOT_CANCELLABLE';
      return answer.within_balance ? 'STOCK_LIMIT_EXCEEDED' : 'BALANCE_LIMIT_EXCEEDED';
    }
  } catch (error) {
    return `ERROR ${error instanceof Error ? error.message : String(error)}`;
  }
}
