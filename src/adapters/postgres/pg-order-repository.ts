import { type Selectable, sql } from 'kysely';
import type { OrderQueries, OrderRepository } from '../../application/ports/order-repository.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import { Order, type OrderDraft, type OrderLine } from '../../domain/order/order.js';
import type { Db, OrdersTable } from './database.js';
import { readerFor } from './pg-transaction-context.js';

export class PgOrderRepository implements OrderRepository {
  constructor(private readonly db: Db) {}

  /** The order, its lines and its payment in one statement: one round trip while the products are locked. */
  async add(draft: OrderDraft): Promise<Order> {
    const { lines } = draft;
    const { rows } = await sql<{ id: number }>`
      WITH placed AS (
        INSERT INTO orders (user_id, status, total_amount, discount_amount, paid_amount, user_coupon_id, created_at)
        VALUES (${draft.userId}, ${draft.status}, ${draft.totalAmount}, ${draft.discountAmount}, ${draft.paidAmount},
                ${draft.userCouponId}, ${draft.createdAt})
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
        SELECT placed.id, ${draft.userId}, ${draft.paidAmount}, ${draft.createdAt} FROM placed
      )
      SELECT id FROM placed`.execute(this.db);
    return new Order({ ...draft, id: rows[0]!.id });
  }
}

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

  /** The orders with their lines, fetched for all of them in one query. */
  private async withLines(rows: Selectable<OrdersTable>[]): Promise<Order[]> {
    if (rows.length === 0) return [];
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
          status: row.status,
          lines: linesByOrder.get(row.id) ?? [],
          totalAmount: row.total_amount,
          discountAmount: row.discount_amount,
          paidAmount: row.paid_amount,
          userCouponId: row.user_coupon_id,
          createdAt: row.created_at,
        }),
    );
  }
}
