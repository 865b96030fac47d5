import { type RawBuilder, sql } from 'kysely';
import type {
  Checkout,
  CheckoutRepository,
  CheckoutRequest,
  Placement,
} from '../../application/ports/checkout-repository.js';
import { Balance } from '../../domain/balance/balance.js';
import { Product } from '../../domain/product/product.js';
import { type Db, prepared } from './database.js';
import { outboxTraceContext } from './pg-outbox.js';
import { type CopyJson, copyFromJson } from './pg-coupon-repository.js';
import { buyerRows } from './buyer-rows.js';
import { currentTransaction, readerFor, writerFor } from './pg-transaction-context.js';
import { isCheckViolation } from './pg-errors.js';

interface ProductRow {
  id: number;
  name: string;
  price: number;
  stock: number;
}

const toProducts = (rows: readonly ProductRow[]) =>
  new Map(rows.map((row) => [row.id, new Product({ id: row.id, name: row.name, price: row.price, stock: row.stock })]));

/**
 * An order's statements. Where the domain must decide on a locked row (inside a unit of work), the buyer's
 * coupon copy and balance are locked with SELECT … FOR UPDATE; the products' stock is taken by a guarded
 * statement instead, which finds a change since the read rather than waiting for the decision under the
 * lock. Every method runs on the caller's open transaction when there is one, else on the pool: outside a
 * unit of work, `place` is a statement that commits by itself.
 */
export class PgCheckoutRepository implements CheckoutRepository {
  constructor(private readonly pool: Db) {}

  private get db(): Db {
    return readerFor(this.pool);
  }

  peek(request: CheckoutRequest): Promise<Checkout> {
    return this.read(request, false);
  }

  open(request: CheckoutRequest): Promise<Checkout> {
    return this.read(request, true);
  }

  /**
   * One round trip: the buyer's rows (buyerRows: locked when `lock`), the user's existence, the products
   * unlocked, and the order's id from its sequence.
   */
  private async read({ userId, userCouponId, productIds }: CheckoutRequest, lock: boolean): Promise<Checkout> {
    const { rows } = await prepared(
      'checkout-read',
      sql<{
        user_exists: boolean;
        order_id: number;
        copy: CopyJson | null;
        wallet: { amount: number; updated_at: string } | null;
        products: ProductRow[];
      }>`
      WITH ${buyerRows(sql`${userCouponId ?? null}::bigint`, sql`${userId}::bigint`, lock)}
      SELECT EXISTS (SELECT 1 FROM users WHERE id = ${userId}) AS user_exists,
             (SELECT row_to_json(copy) FROM copy) AS copy,
             (SELECT row_to_json(wallet) FROM wallet) AS wallet,
             (SELECT coalesce(json_agg(p), '[]') FROM (
                SELECT id, name, price, stock FROM products WHERE id = ANY(${productIds}::bigint[])
             ) p) AS products,
             nextval(pg_get_serial_sequence('orders', 'id')) AS order_id`,
    ).execute(this.db);
    const row = rows[0]!;
    const { copy, wallet } = row;
    return {
      userExists: row.user_exists,
      orderId: row.order_id,
      coupon: copy ? copyFromJson(copy) : undefined,
      balance: wallet
        ? new Balance({ userId, amount: wallet.amount, updatedAt: new Date(wallet.updated_at) })
        : undefined,
      products: toProducts(row.products),
    };
  }

  async products(productIds: readonly number[]): Promise<ReadonlyMap<number, Product>> {
    const { rows } = await sql<ProductRow>`
      SELECT id, name, price, stock FROM products WHERE id = ANY(${productIds}::bigint[])`.execute(this.db);
    return toProducts(rows);
  }

  /**
   * One statement, which first locks the buyer's rows (buyerRows) and checks they are as decided on: the
   * balance unchanged, the copy unused. Then it locks every product of the order in ascending id order and
   * judges each as it is once locked (a row that changed while it was waited for is judged in its new
   * state): does it still have the stock and the price the order was decided on? A stale decision writes
   * nothing. The units sold are appended to product_sales_pending, not added to the day's rollup row: that
   * row would be a second hot row per product, held till commit.
   *
   * Outside a unit of work the statement commits by itself and takes the products last, after the order's
   * other writes, so a flash sale's product row is held only from its UPDATE to the commit; a product that
   * no longer fits then fails the statement (checkout_products_changed, migration 0017), which undoes those
   * writes. Inside one it takes the products before writing and, when one no longer fits, writes nothing
   * but keeps what it locked, all of it, so the decision made again on them as they are then stands.
   */
  async place(placement: Placement): Promise<boolean> {
    if (currentTransaction()) return this.placed(this.productsFirst(placement));
    try {
      return await this.placed(this.productsLast(placement));
    } catch (error) {
      if (isCheckViolation(error, PRODUCTS_AS_DECIDED)) return false;
      throw error;
    }
  }

  private async placed(statement: RawBuilder<{ placed: number }>): Promise<boolean> {
    const { rows } = await prepared('order-place', statement).execute(writerFor(this.pool));
    return rows[0]!.placed === 1;
  }

  private productsFirst(placement: Placement): RawBuilder<{ placed: number }> {
    return sql`
      WITH ${decided(placement)}, ${claimed(sql`(SELECT ok FROM buyer)`)}, ${complete(placement)},
      ${taken(placement)}, ${writes(placement, sql`complete WHERE complete.ok`)}
      SELECT count(*)::int AS placed FROM placed`;
  }

  private productsLast(placement: Placement): RawBuilder<{ placed: number }> {
    return sql`
      WITH ${decided(placement)}, ${writes(placement, sql`buyer WHERE buyer.ok`)}, written AS MATERIALIZED (
        -- Read here, so that every write above is in before a product is locked below.
        SELECT (SELECT count(*) FROM placed_lines) + (SELECT count(*) FROM payment) + (SELECT count(*) FROM ledger)
               + (SELECT count(*) FROM coupon_used) + (SELECT count(*) FROM outbox) + (SELECT count(*) FROM sales)
               AS rows
      ), ${claimed(sql`EXISTS (SELECT FROM placed) AND (SELECT rows FROM written) >= 0`)}, ${complete(placement)},
      ${taken(placement)}
      SELECT count(*)::int AS placed,
             CASE WHEN count(*) > 0 AND NOT (SELECT ok FROM complete) THEN checkout_products_changed() END AS changed
      FROM placed`;
  }
}

/** A product that no longer fits, found by a statement that took the products last (migration 0017). */
const PRODUCTS_AS_DECIDED = 'orders_products_as_decided';

/** The buyer's rows locked and checked as decided on (`buyer`), and the stock the order takes (`wanted`). */
function decided({ order, balanceBefore, couponUsed, stock }: Placement): RawBuilder<unknown> {
  return sql`${buyerRows(sql`${couponUsed?.id ?? null}::bigint`, sql`${order.userId}::bigint`, true)}, buyer AS (
      SELECT coalesce((SELECT amount FROM wallet) = ${balanceBefore}::bigint, false)
             AND (${couponUsed === undefined} OR coalesce((SELECT used_at IS NULL FROM copy), false)) AS ok
    ), wanted AS (
      SELECT * FROM unnest(${stock.map((s) => s.productId)}::bigint[], ${stock.map((s) => s.quantity)}::bigint[],
                           ${stock.map((s) => s.price)}::bigint[])
        AS w (product_id, quantity, price)
    )`;
}

/** The order's products locked in ascending id order once `when` holds, each judged as it is then. */
function claimed(when: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`claimed AS (
      SELECT p.id, p.stock >= w.quantity AND p.price = w.price AS fits
      FROM products p JOIN wanted w ON w.product_id = p.id
      WHERE ${when}
      ORDER BY p.id
      FOR NO KEY UPDATE OF p
    )`;
}

function complete({ stock }: Placement): RawBuilder<unknown> {
  return sql`complete AS (SELECT count(*) FILTER (WHERE fits) = ${stock.length} AS ok FROM claimed)`;
}

function taken({ order }: Placement): RawBuilder<unknown> {
  return sql`taken AS (
      UPDATE products p SET stock = p.stock - w.quantity, updated_at = ${order.createdAt}
      FROM wanted w, complete
      WHERE complete.ok AND p.id = w.product_id
      RETURNING p.id
    )`;
}

/** Every write of the order but the stock, made only from a row of `gate`. */
function writes({ order, payment, couponUsed, salesDay }: Placement, gate: RawBuilder<unknown>): RawBuilder<unknown> {
  const { balance, entry } = payment;
  const lines = order.lines;
  return sql`placed AS (
      INSERT INTO orders (id, user_id, status, total_amount, discount_amount, paid_amount, user_coupon_id, created_at)
      OVERRIDING SYSTEM VALUE
      SELECT ${order.id}::bigint, ${order.userId}::bigint, ${order.status}, ${order.totalAmount}::bigint,
             ${order.discountAmount}::bigint, ${order.paidAmount}::bigint, ${order.userCouponId}::bigint,
             ${order.createdAt}::timestamptz
      FROM ${gate}
      RETURNING id
    ), placed_lines AS (
      INSERT INTO order_lines (order_id, line_no, product_id, name, quantity, unit_price, amount)
      SELECT placed.id, line.line_no, line.product_id, line.name, line.quantity, line.unit_price, line.amount
      FROM placed, unnest(
        ${lines.map((_, i) => i + 1)}::int[], ${lines.map((l) => l.productId)}::bigint[],
        ${lines.map((l) => l.name)}::text[], ${lines.map((l) => l.quantity)}::int[],
        ${lines.map((l) => l.unitPrice)}::bigint[], ${lines.map((l) => l.amount)}::bigint[]
      ) AS line (line_no, product_id, name, quantity, unit_price, amount)
      RETURNING 1
    ), payment AS (
      INSERT INTO payments (order_id, user_id, amount, paid_at)
      SELECT placed.id, ${order.userId}::bigint, ${order.paidAmount}::bigint, ${order.createdAt}::timestamptz
      FROM placed
      RETURNING 1
    ), debited AS (
      UPDATE balances SET amount = ${balance.amount}, updated_at = ${balance.updatedAt}
      FROM placed WHERE balances.user_id = ${balance.userId}
      RETURNING balances.user_id
    ), ledger AS (
      INSERT INTO balance_ledger (user_id, type, amount, balance_after, order_id, created_at)
      SELECT debited.user_id, ${entry.type}, ${entry.amount}::bigint, ${entry.balanceAfter}::bigint,
             ${entry.orderId}::bigint, ${entry.createdAt}::timestamptz
      FROM debited
      RETURNING 1
    ), coupon_used AS (
      UPDATE user_coupons SET used_at = ${couponUsed?.usedAt ?? null}::timestamptz, order_id = placed.id
      FROM placed WHERE user_coupons.id = ${couponUsed?.id ?? null}::bigint
      RETURNING 1
    ), outbox AS (
      INSERT INTO data_platform_outbox (order_id, payload, trace_context, next_attempt_at, created_at)
      SELECT placed.id, ${JSON.stringify(order.paidEvent())}::jsonb, ${outboxTraceContext()}::jsonb, now(), now()
      FROM placed
      RETURNING 1
    ), sales AS (
      INSERT INTO product_sales_pending (sales_date, product_id, quantity)
      SELECT ${salesDay}::date, w.product_id, w.quantity FROM placed, wanted w
      RETURNING 1
    )`;
}
