import { sql } from 'kysely';
import type { ProductSales, SalesStatistics } from '../../application/ports/sales-statistics.js';
import { Product } from '../../domain/product/product.js';
import type { LocalDate } from '../../domain/statistics/shop-calendar.js';
import type { Db } from './database.js';
import { readerFor } from './pg-transaction-context.js';

export class PgSalesStatistics implements SalesStatistics {
  constructor(private readonly pool: Db) {}

  /** On the open unit of work's connection when there is one (see the ports' note on reads), else the pool. */
  private get db(): Db {
    return readerFor(this.pool);
  }

  /**
   * Reads at most (days × products sold) rollup rows and the sales not folded yet: its cost does not grow
   * with the number of orders.
   */
  async topSellers(firstDay: LocalDate, lastDay: LocalDate, limit: number): Promise<ProductSales[]> {
    const { rows } = await sql<{ id: number; name: string; price: number; stock: number; sold: number }>`
      SELECT p.id, p.name, p.price, p.stock, top.sold
      FROM (
        SELECT product_id, sum(quantity) AS sold
        FROM product_daily_sales_live
        WHERE sales_date BETWEEN ${firstDay}::date AND ${lastDay}::date
        GROUP BY product_id
        HAVING sum(quantity) > 0
        ORDER BY sold DESC, product_id
        LIMIT ${limit}
      ) AS top
      JOIN products p ON p.id = top.product_id
      ORDER BY top.sold DESC, p.id`.execute(this.db);
    return rows.map((row) => ({
      product: new Product({ id: row.id, name: row.name, price: row.price, stock: row.stock }),
      soldQuantity: row.sold,
    }));
  }
}
