/**
 * The limits (issue 12): what PostgreSQL itself does for a scenario's work in the fewest round trips,
 * through pg at the bench's concurrency and pool size, each statement autocommitted. A hot row is one
 * guarded UPDATE … RETURNING per request; an order is all of its writes in one statement. They are
 * yardsticks written only for the bench, not the service's code, and each run is checked like the service's
 * (see the scenarios), so a broken yardstick can't flatter a ratio. Statements are sent unnamed (parsed per
 * call), as Kysely sends the service's and as `pgbench -M simple` does.
 */
import { randomInt } from 'node:crypto';
import type pg from 'pg';
import { MAX_BALANCE } from '../src/domain/balance/balance.js';
import { MAX_STOCK } from '../src/domain/product/product.js';
import { type Row, type Stats, row, runLoad, scaled, statsOf } from './harness.js';
import { insertUsers } from './scenarios/scenario.js';

const ONE_ROW_UPDATES = scaled(10_000, 200);

/** Runs one statement; an error becomes the outcome `ERROR …`, so a run counts it instead of stopping. */
async function outcome(pool: pg.Pool, sql: string, values: unknown[], word: (rows: number) => string) {
  try {
    const { rowCount } = await pool.query(sql, values);
    return word(rowCount ?? 0);
  } catch (error) {
    return `ERROR ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * The reference every target is a ratio of: a guarded one-row UPDATE … RETURNING on one hot row (a fresh
 * user's balance), like pgbench with the bench's pool of connections. Checked: every update returned a
 * distinct amount, 1 to N, and the row ends at N.
 */
export async function oneRowReference(
  pool: pg.Pool,
  concurrency: number,
  when: 'first' | 'last',
): Promise<{ stats: Stats; row: Row }> {
  const [userId] = await insertUsers(pool, 1, 'one-row ');
  const run = await runLoad(`one-row (reference, ${when})`, ONE_ROW_UPDATES, concurrency, async () => {
    try {
      const { rows } = await pool.query<{ amount: string }>(
        'UPDATE balances SET amount = amount + 1 WHERE user_id = $1 AND amount + 1 <= $2 RETURNING amount',
        [userId, MAX_BALANCE],
      );
      return rows[0] ? Number(rows[0].amount) : 0;
    } catch {
      return 0;
    }
  });
  const returned = new Set(run.samples.map((sample) => sample.value).filter((amount) => amount > 0));
  const { rows } = await pool.query<{ amount: string }>('SELECT amount FROM balances WHERE user_id = $1', [userId]);
  const stored = Number(rows[0]!.amount);
  const exact = returned.size === ONE_ROW_UPDATES && stored === ONE_ROW_UPDATES;
  const stats = statsOf(run.samples, run.elapsedMs);
  return {
    stats,
    row: row(
      `one-row (reference, ${when})`,
      stats,
      ONE_ROW_UPDATES - returned.size,
      null,
      `pg, autocommit; row at ${stored}, ${returned.size} distinct amounts returned of ${ONE_ROW_UPDATES}`,
      exact,
      { write: true },
    ),
  };
}

/** A charge: the guarded balance update and its ledger entry, one statement. */
export function chargeAtLimit(pool: pg.Pool, userId: number, amount: number): Promise<string> {
  return outcome(
    pool,
    `WITH charged AS (
       UPDATE balances SET amount = amount + $2, updated_at = now()
       WHERE user_id = $1 AND amount + $2 <= $3
       RETURNING user_id, amount, updated_at
     )
     INSERT INTO balance_ledger (user_id, type, amount, balance_after, order_id, created_at)
     SELECT user_id, 'CHARGE', $2, amount, NULL, updated_at FROM charged
     RETURNING balance_after`,
    [userId, amount, MAX_BALANCE],
    (rows) => (rows === 1 ? 'CHARGED' : 'BALANCE_LIMIT_EXCEEDED'),
  );
}

/**
 * A coupon copy: a stripe of the campaign with a copy left claimed (one no one holds; when every one with
 * room is held, a second statement waits on one and tries again if it filled), its count guarded by the
 * window, and the copy, in one statement (a second copy for the user fails the unique key and undoes the
 * claim with it). The same work as the service's issue, without HTTP or a token.
 */
export async function issueAtLimit(pool: pg.Pool, couponId: number, userId: number): Promise<string> {
  const open = `(SELECT (issue_starts_at IS NULL OR issue_starts_at <= clock_timestamp())
      AND (issue_ends_at IS NULL OR clock_timestamp() < issue_ends_at) FROM coupons WHERE id = $1)`;
  const claim = (lock: string) => `
    WITH picked AS MATERIALIZED (
      SELECT (SELECT stripe FROM coupon_stripes WHERE coupon_id = $1 AND issued < quantity AND ${open}
              ORDER BY (stripe + $3) % (SELECT least(total_quantity, 32) FROM coupons WHERE id = $1) LIMIT 1 ${lock}) AS stripe
    ), claimed AS (
      UPDATE coupon_stripes SET issued = issued + 1
      WHERE coupon_id = $1 AND issued < quantity AND stripe = (SELECT stripe FROM picked)
      RETURNING coupon_id, stripe
    ), copy AS (
      INSERT INTO user_coupons (coupon_id, stripe, user_id, issued_at, expires_at)
      SELECT claimed.coupon_id, claimed.stripe, $2, now(), now() + c.valid_days * interval '1 day'
      FROM claimed JOIN coupons c ON c.id = claimed.coupon_id
      RETURNING id
    )
    SELECT (SELECT id FROM copy) AS id, (SELECT stripe FROM picked) AS stripe`;
  const values = [couponId, userId, randomInt(32)];
  try {
    let { rows } = await pool.query<{ id: string | null; stripe: number | null }>(
      claim('FOR UPDATE SKIP LOCKED'),
      values,
    );
    if (rows[0]!.id === null && rows[0]!.stripe === null) {
      do ({ rows } = await pool.query(claim(''), values));
      while (rows[0]!.id === null && rows[0]!.stripe !== null);
    }
    return rows[0]!.id === null ? 'COUPON_SOLD_OUT' : 'ISSUED';
  } catch (error) {
    return `ERROR ${(error as Error).message}`;
  }
}

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
