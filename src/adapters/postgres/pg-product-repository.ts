import type { Selectable } from 'kysely';
import type {
  AdminStockAdjustment,
  ProductQueries,
  ProductRepository,
} from '../../application/ports/product-repository.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import { Product, type ProductDraft } from '../../domain/product/product.js';
import type { Db } from './database.js';
import { readerFor } from './pg-transaction-context.js';
import type { ProductsTable } from './tables.js';

const toProduct = (row: Selectable<ProductsTable>) =>
  new Product({ id: row.id, name: row.name, price: row.price, stock: row.stock });

export class PgProductRepository implements ProductRepository {
  constructor(private readonly db: Db) {}

  async add(draft: ProductDraft, at: Date): Promise<Product> {
    const row = await this.db
      .insertInto('products')
      .values({ ...draft, created_at: at, updated_at: at })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toProduct(row);
  }

  async getByIdForUpdate(productId: number): Promise<Product | undefined> {
    const row = await this.db
      .selectFrom('products')
      .selectAll()
      .where('id', '=', productId)
      .forUpdate()
      .executeTakeFirst();
    return row && toProduct(row);
  }

  async save(product: Product, at: Date): Promise<void> {
    await this.db
      .updateTable('products')
      .set({ price: product.price, stock: product.stock, updated_at: at })
      .where('id', '=', product.id)
      .execute();
  }

  async recordAdjustment({ productId, delta, reason, at, auditEntryId }: AdminStockAdjustment): Promise<void> {
    await this.db
      .insertInto('stock_adjustments')
      .values({ product_id: productId, delta, reason, created_at: at, audit_entry_id: auditEntryId })
      .execute();
  }
}

export class PgProductQueries implements ProductQueries {
  constructor(private readonly pool: Db) {}

  /** On the open unit of work's connection when there is one (see the ports' note on reads), else the pool. */
  private get db(): Db {
    return readerFor(this.pool);
  }

  async findById(productId: number): Promise<Product | undefined> {
    const row = await this.db.selectFrom('products').selectAll().where('id', '=', productId).executeTakeFirst();
    return row && toProduct(row);
  }

  async list({ limit, after }: PageRequest): Promise<Page<Product>> {
    let query = this.db.selectFrom('products').selectAll();
    if (after !== undefined) query = query.where('id', '>', after);
    const rows = await query
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    return pageFrom(rows.map(toProduct), limit, (product) => product.id);
  }
}
