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
 * Then the order, its lines, its payment, the ledger entry, the outbox event and the day's rollup rows (in
 * product order) are written from the locked rows.
 */
const PLACE_ORDER = `
  WITH item AS (
    SELECT * FROM unnest($2::bigint[], $3::int[]) WITH ORDINALITY AS item (product_id, quantity, line_no)
  ), locked AS MATERIALIZED (
    SELECT id, name, price, stock FROM products WHERE id = ANY($2::bigint[]) ORDER BY id FOR UPDATE
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
    INSERT INTO product_daily_sales (sales_date, product_id, quantity)
    SELECT (placed.created_at AT TIME ZONE $4::text)::date, line.product_id, line.quantity
    FROM placed, line ORDER BY line.product_id
    ON CONFLICT (sales_date, product_id) DO UPDATE SET quantity = product_daily_sales.quantity + excluded.quantity
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
