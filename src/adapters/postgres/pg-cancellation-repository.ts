import { sql } from 'kysely';
import type {
  CancellationRecord,
  CancellationRepository,
  CancellationTarget,
  RecordRefusal,
} from '../../application/ports/cancellation-repository.js';
import { Balance } from '../../domain/balance/balance.js';
import type { Cancellation } from '../../domain/order/cancellation.js';
import { MAX_STOCK } from '../../domain/product/product.js';
import type { Db } from './database.js';
import { outboxTraceContext } from './pg-outbox.js';
import { buyerRows } from './buyer-rows.js';
import { type CopyJson, copyFromJson } from './pg-coupon-repository.js';
import { PgOrderQueries } from './pg-order-repository.js';

/**
 * A cancellation in five statements besides BEGIN and COMMIT: the locks, the order read once its row is
 * held (its row, its cancellations, its lines), and every write in one. The order's row is taken first:
 * cancellations of one order queue on it, and the read that follows (a statement of its own, so with a
 * snapshot taken after the wait) sees every cancellation committed before. The rows the domain decides on
 * are locked with SELECT … FOR UPDATE in the global lock order (buyer-rows.ts); the products, which every
 * buyer shares, only by the writing statement, ascending, until the commit.
 */
export class PgCancellationRepository implements CancellationRepository {
  constructor(private readonly db: Db) {}

  /** One round trip for the locks: the order's row, then the buyer's rows (buyerRows reads the order's). */
  async open(orderId: number, buyerId?: number): Promise<CancellationTarget | undefined> {
    const { rows } = await sql<{
      user_id: number | null;
      copy: CopyJson | null;
      wallet: { amount: number; updated_at: string } | null;
    }>`
      WITH held AS (
        SELECT id, user_id, user_coupon_id FROM orders
        WHERE id = ${orderId} AND (${buyerId ?? null}::bigint IS NULL OR user_id = ${buyerId ?? null}::bigint)
        FOR UPDATE
      ), ${buyerRows(sql`(SELECT user_coupon_id FROM held)`, sql`(SELECT user_id FROM held)`, true)}
      SELECT (SELECT user_id FROM held) AS user_id,
             (SELECT row_to_json(copy) FROM copy) AS copy,
             (SELECT row_to_json(wallet) FROM wallet) AS wallet`.execute(this.db);
    const { user_id: userId, copy, wallet } = rows[0]!;
    if (userId === null || !wallet) return undefined;

    const order = await new PgOrderQueries(this.db).findById(orderId);
    if (!order) return undefined;
    return {
      order,
      balance: new Balance({ userId, amount: wallet.amount, updatedAt: new Date(wallet.updated_at) }),
      coupon: copy ? copyFromJson(copy) : undefined,
    };
  }

  /**
   * One statement. `claimed` locks the cancelled lines' products in ascending id order (FOR NO KEY UPDATE,
   * what the stock update takes) and checks that each can take its units back within the stock limit; every
   * write after it runs only if all can. The units taken back are appended to product_sales_pending as
   * negative units of the order's day, which the fold subtracts from the rollup.
   */
  async record({
    order,
    cancellation,
    refund,
    couponReleased,
    salesDay,
    event,
  }: CancellationRecord): Promise<Cancellation | RecordRefusal> {
    const lines = [...cancellation.lines].sort((a, b) => a.productId - b.productId);
    const at = cancellation.createdAt;
    const { rows } = await sql<{ id: number | null; over: { id: number; stock: number; quantity: number }[] | null }>`
      WITH wanted AS (
        SELECT * FROM unnest(
          ${lines.map((l) => l.productId)}::bigint[], ${lines.map((l) => l.quantity)}::int[],
          ${lines.map((l) => l.unitPrice)}::bigint[], ${lines.map((l) => l.amount)}::bigint[]
        ) AS w (product_id, quantity, unit_price, amount)
      ), claimed AS (
        SELECT p.id, p.stock, w.quantity, p.stock + w.quantity <= ${MAX_STOCK} AS fits
        FROM products p JOIN wanted w ON w.product_id = p.id
        ORDER BY p.id
        FOR NO KEY UPDATE OF p
      ), complete AS (
        SELECT count(*) FILTER (WHERE fits) = ${lines.length} AS ok FROM claimed
      ), recorded AS (
        INSERT INTO order_cancellations (order_id, refund_amount, created_at)
        SELECT ${order.id}::bigint, ${cancellation.refundAmount}::bigint, ${at}::timestamptz
        FROM complete WHERE complete.ok
        RETURNING id
      ), recorded_lines AS (
        INSERT INTO order_cancellation_lines (cancellation_id, order_id, product_id, quantity, unit_price, amount)
        SELECT recorded.id, ${order.id}::bigint, w.product_id, w.quantity, w.unit_price, w.amount
        FROM recorded, wanted w
      ), restocked AS (
        UPDATE products p SET stock = p.stock + w.quantity, updated_at = ${at}::timestamptz
        FROM wanted w, recorded
        WHERE p.id = w.product_id
      ), adjusted AS (
        INSERT INTO stock_adjustments (product_id, delta, reason, cancellation_id, created_at)
        SELECT w.product_id, w.quantity, 'CANCELLATION', recorded.id, ${at}::timestamptz
        FROM recorded, wanted w
      ), credited AS (
        UPDATE balances SET amount = ${refund?.balance.amount ?? null}::bigint, updated_at = ${at}::timestamptz
        FROM recorded
        WHERE balances.user_id = ${order.userId}::bigint AND ${refund !== undefined}
        RETURNING balances.user_id
      ), ledger AS (
        INSERT INTO balance_ledger (user_id, type, amount, balance_after, order_id, created_at)
        SELECT credited.user_id, ${refund?.entry.type ?? null}, ${refund?.entry.amount ?? null}::bigint,
               ${refund?.entry.balanceAfter ?? null}::bigint, ${order.id}::bigint, ${at}::timestamptz
        FROM credited
      ), released AS (
        UPDATE user_coupons SET used_at = NULL, order_id = NULL
        FROM recorded
        WHERE user_coupons.id = ${couponReleased?.id ?? null}::bigint AND user_coupons.order_id = ${order.id}::bigint
      ), marked AS (
        UPDATE orders SET status = ${order.status} FROM recorded WHERE orders.id = ${order.id}::bigint
      ), unsold AS (
        INSERT INTO product_sales_pending (sales_date, product_id, quantity)
        SELECT ${salesDay}::date, w.product_id, -w.quantity FROM recorded, wanted w
      ), outbox AS (
        INSERT INTO data_platform_outbox
          (type, order_id, cancellation_id, payload, trace_context, next_attempt_at, created_at)
        SELECT 'ORDER_CANCELLED', ${order.id}::bigint, recorded.id, ${JSON.stringify(event)}::jsonb,
               ${outboxTraceContext()}::jsonb, now(), now()
        FROM recorded
      )
      SELECT (SELECT id FROM recorded) AS id,
             (SELECT json_agg(json_build_object('id', id, 'stock', stock, 'quantity', quantity) ORDER BY id)
              FROM claimed WHERE NOT fits) AS over`.execute(this.db);
    const { id, over } = rows[0]!;
    if (id === null) {
      const first = over?.[0];
      if (!first) throw new Error(`cancellation of order ${order.id}: a product of it is gone`);
      return { stockLimit: { productId: first.id, stock: first.stock, stockDelta: first.quantity, limit: MAX_STOCK } };
    }
    return { ...cancellation, id };
  }
}
