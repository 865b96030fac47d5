import type { Product, ProductDraft, StockAdjustmentReason } from '../../domain/product/product.js';
import type { Page, PageRequest } from '../shared/pagination.js';

/** A change of stock that is not a sale: the initial stock, a restock or a correction. */
export interface StockAdjustment {
  readonly productId: number;
  readonly delta: number;
  readonly reason: StockAdjustmentReason;
  readonly at: Date;
}

/** Writes, inside a unit of work. */
export interface ProductRepository {
  /** Stores the product and records its initial stock as an adjustment. */
  add(draft: ProductDraft, at: Date): Promise<Product>;
  getByIdForUpdate(productId: number): Promise<Product | undefined>;
  save(product: Product, at: Date): Promise<void>;
  recordAdjustment(adjustment: StockAdjustment): Promise<void>;
}

/** Reads: no lock, no transaction of their own (see "Reads" on UnitOfWork). */
export interface ProductQueries {
  findById(productId: number): Promise<Product | undefined>;
  /** By id ascending; the page key is the product id. */
  list(page: PageRequest): Promise<Page<Product>>;
}
