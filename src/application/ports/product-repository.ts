import type { Product, ProductDraft, StockAdjustmentReason } from '../../domain/product/product.js';
import type { Page, PageRequest } from '../shared/pagination.js';

/** A change of stock that is not a sale: the initial stock, a restock or a correction, or a cancellation's. */
export interface StockAdjustment {
  readonly productId: number;
  readonly delta: number;
  readonly reason: StockAdjustmentReason;
  readonly at: Date;
  /** The audit entry of the admin action that made it; null for a cancellation's restock. */
  readonly auditEntryId: number | null;
}

/** What an admin's action does to stock: a product's initial stock, a restock or a correction, audited. */
export type AdminStockAdjustment = StockAdjustment & {
  readonly reason: 'INITIAL' | 'ADJUSTMENT';
  readonly auditEntryId: number;
};

/** Writes, inside a unit of work. */
export interface ProductRepository {
  /** Stores the product; its initial stock is the caller's to record, with the audit entry that made it. */
  add(draft: ProductDraft, at: Date): Promise<Product>;
  getByIdForUpdate(productId: number): Promise<Product | undefined>;
  save(product: Product, at: Date): Promise<void>;
  recordAdjustment(adjustment: AdminStockAdjustment): Promise<void>;
}

/** Reads: no lock, no transaction of their own (see "Reads" on UnitOfWork). */
export interface ProductQueries {
  findById(productId: number): Promise<Product | undefined>;
  /** By id ascending; the page key is the product id. */
  list(page: PageRequest): Promise<Page<Product>>;
}
