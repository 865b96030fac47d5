import { sql } from 'kysely';
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
import { readerFor, writerFor } from './pg-transaction-context.js';

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
    const statement = sql<{
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
             nextval(pg_get_serial_sequence('orders', 'id')) AS order_id`;
    // Prepared only unlocked: a statement that locks several rows is sent unnamed (see place).
    const { rows } = await (lock ? statement : prepared('checkout-read', statement)).execute(this.db);
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
   * One statement. `buyer` locks the buyer's rows (buyerRows) and checks they are as decided on: the balance
   * unchanged, the copy unused. Only then does `claimed` lock every
   * product of the order in ascending id order and judge each as it is once locked (a row that changed while
   * it was waited for is judged in its new state): does it still have the stock and the price the order was
   * decided on? Every write after it runs only when all of them do, so a stale decision writes nothing; what
   * it locked stays locked, all of it, so inside a unit of work the decision made again on it stands. The
   * units sold are appended to product_sales_pending, not added to the day's rollup row: that row would be
   * a second hot row per product, held till commit.
   */
  async place({ order, balanceBefore, payment, couponUsed, stock, salesDay }: Placement): Promise<boolean> {
    // Sent unnamed, as every statement that locks several rows is: prepared, this statement's bench limit
    // ended orders in deadlocks it never showed unnamed, and until that is understood it stays so.
    const { balance, entry } = payment;
    const claims = {
      ids: stock.map((s) => s.productId),
      quantities: stock.map((s) => s.quantity),
      prices: stock.map((s) => s.price),
    };
    const lines = order.lines;
    const { rows } = await sql<{ placed: number }>`
      WITH ${buyerRows(sql`${couponUsed?.id ?? null}::bigint`, sql`${order.userId}::bigint`, true)}, buyer AS (
        SELECT coalesce((SELECT amount FROM wallet) = ${balanceBefore}::bigint, false)
               AND (${couponUsed === undefined} OR coalesce((SELECT used_at IS NULL FROM copy), false)) AS ok
      ), wanted AS (
        SELECT * FROM unnest(${claims.ids}::bigint[], ${claims.quantities}::bigint[], ${claims.prices}::bigint[])
          AS w (product_id, quantity, price)
      ), claimed AS (
        SELECT p.id, p.stock >= w.quantity AND p.price = w.price AS fits
        FROM products p JOIN wanted w ON w.product_id = p.id
        WHERE (SELECT ok FROM buyer)
        ORDER BY p.id
        FOR NO KEY UPDATE OF p
      ), complete AS (
        SELECT count(*) FILTER (WHERE fits) = ${stock.length} AS ok FROM claimed
      ), taken AS (
        UPDATE products p SET stock = p.stock - w.quantity, updated_at = ${order.createdAt}
        FROM wanted w, complete
        WHERE complete.ok AND p.id = w.product_id
        RETURNING p.id
      ), placed AS (
        INSERT INTO orders (id, user_id, status, total_amount, discount_amount, paid_amount, user_coupon_id, created_at)
        OVERRIDING SYSTEM VALUE
        SELECT ${order.id}::bigint, ${order.userId}::bigint, ${order.status}, ${order.totalAmount}::bigint,
               ${order.discountAmount}::bigint, ${order.paidAmount}::bigint, ${order.userCouponId}::bigint,
               ${order.createdAt}::timestamptz
        FROM complete WHERE complete.ok
        RETURNING id
      ), placed_lines AS (
        INSERT INTO order_lines (order_id, line_no, product_id, name, quantity, unit_price, amount)
        SELECT placed.id, line.line_no, line.product_id, line.name, line.quantity, line.unit_price, line.amount
        FROM placed, unnest(
          ${lines.map((_, i) => i + 1)}::int[], ${lines.map((l) => l.productId)}::bigint[],
          ${lines.map((l) => l.name)}::text[], ${lines.map((l) => l.quantity)}::int[],
          ${lines.map((l) => l.unitPrice)}::bigint[], ${lines.map((l) => l.amount)}::bigint[]
        ) AS line (line_no, product_id, name, quantity, unit_price, amount)
      ), payment AS (
        INSERT INTO payments (order_id, user_id, amount, paid_at)
        SELECT placed.id, ${order.userId}::bigint, ${order.paidAmount}::bigint, ${order.createdAt}::timestamptz
        FROM placed
      ), debited AS (
        UPDATE balances SET amount = ${balance.amount}, updated_at = ${balance.updatedAt}
        FROM placed WHERE balances.user_id = ${balance.userId}
        RETURNING balances.user_id
      ), ledger AS (
        INSERT INTO balance_ledger (user_id, type, amount, balance_after, order_id, created_at)
        SELECT debited.user_id, ${entry.type}, ${entry.amount}::bigint, ${entry.balanceAfter}::bigint,
               ${entry.orderId}::bigint, ${entry.createdAt}::timestamptz
        FROM debited
      ), coupon_used AS (
        UPDATE user_coupons SET used_at = ${couponUsed?.usedAt ?? null}::timestamptz, order_id = placed.id
        FROM placed WHERE user_coupons.id = ${couponUsed?.id ?? null}::bigint
      ), outbox AS (
        INSERT INTO data_platform_outbox (order_id, payload, trace_context, next_attempt_at, created_at)
        SELECT placed.id, ${JSON.stringify(order.paidEvent())}::jsonb, ${outboxTraceContext()}::jsonb, now(), now()
        FROM placed
      ), sales AS (
        INSERT INTO product_sales_pending (sales_date, product_id, quantity)
        SELECT ${salesDay}::date, w.product_id, w.quantity FROM placed, wanted w
      )
      SELECT count(*)::int AS placed FROM placed`.execute(writerFor(this.pool));
    return rows[0]!.placed === 1;
  }
}
