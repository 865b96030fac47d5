import { type Selectable, sql } from 'kysely';
import type { OrderQueries } from '../../application/ports/order-repository.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import type { Cancellation, CancellationLine } from '../../domain/order/cancellation.js';
import { Order, type OrderLine } from '../../domain/order/order.js';
import type { Db } from './database.js';
import { readerFor } from './pg-transaction-context.js';
import type { OrdersTable } from './tables.js';

export class PgOrderQueries implements OrderQueries {
  constructor(private readonly pool: Db) {}

  /** On the open unit of work's connection when there is one (see the ports' note on reads), else the pool. */
  private get db(): Db {
    return readerFor(this.pool);
  }

  async findById(orderId: number): Promise<Order | undefined> {
    const rows = await this.db.selectFrom('orders').selectAll().where('id', '=', orderId).execute();
    const [order] = await this.withLines(rows);
    return order;
  }

  async listByUser(userId: number, { limit, after }: PageRequest): Promise<Page<Order>> {
    let query = this.db.selectFrom('orders').selectAll().where('user_id', '=', userId);
    if (after !== undefined) query = query.where('id', '<', after);
    const rows = await query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    return pageFrom(await this.withLines(rows), limit, (order) => order.id);
  }

  /** The orders with their lines and their cancellations, fetched for all of them in one query each. */
  private async withLines(rows: Selectable<OrdersTable>[]): Promise<Order[]> {
    if (rows.length === 0) return [];
    const cancellations = await this.cancellationsOf(rows.map((row) => row.id));
    const lineRows = await this.db
      .selectFrom('order_lines')
      .selectAll()
      .where(
        'order_id',
        'in',
        rows.map((row) => row.id),
      )
      .orderBy('order_id')
      .orderBy('line_no')
      .execute();
    const linesByOrder = new Map<number, OrderLine[]>();
    for (const line of lineRows) {
      const list = linesByOrder.get(line.order_id) ?? [];
      list.push({
        productId: line.product_id,
        name: line.name,
        quantity: line.quantity,
        unitPrice: line.unit_price,
        amount: line.amount,
      });
      linesByOrder.set(line.order_id, list);
    }
    return rows.map(
      (row) =>
        new Order({
          id: row.id,
          userId: row.user_id,
          // Not row.status: the status is what the cancellations make it, and they are read by a statement of
          // their own, which may see a cancellation committed after the order's row was read.
          lines: linesByOrder.get(row.id) ?? [],
          totalAmount: row.total_amount,
          discountAmount: row.discount_amount,
          paidAmount: row.paid_amount,
          userCouponId: row.user_coupon_id,
          createdAt: row.created_at,
          cancellations: cancellations.get(row.id) ?? [],
        }),
    );
  }

  /** Each order's cancellations, oldest first, each with its lines. */
  private async cancellationsOf(orderIds: number[]): Promise<Map<number, Cancellation[]>> {
    const { rows } = await sql<{
      id: number;
      order_id: number;
      refund_amount: number;
      created_at: Date;
      lines: CancellationLine[];
    }>`
      SELECT c.id, c.order_id, c.refund_amount, c.created_at,
             json_agg(json_build_object('productId', l.product_id, 'quantity', l.quantity,
                                        'unitPrice', l.unit_price, 'amount', l.amount) ORDER BY l.product_id) AS lines
      FROM order_cancellations c JOIN order_cancellation_lines l ON l.cancellation_id = c.id
      WHERE c.order_id = ANY(${orderIds}::bigint[])
      GROUP BY c.id
      ORDER BY c.id`.execute(this.db);
    const byOrder = new Map<number, Cancellation[]>();
    for (const row of rows) {
      const list = byOrder.get(row.order_id) ?? [];
      list.push({
        id: row.id,
        orderId: row.order_id,
        refundAmount: row.refund_amount,
        createdAt: row.created_at,
        lines: row.lines,
      });
      byOrder.set(row.order_id, list);
    }
    return byOrder;
  }
}
