import type { Product } from '../../domain/product/product.js';
import type { LocalDate } from '../../domain/statistics/shop-calendar.js';

export interface ProductSales {
  readonly product: Product;
  readonly soldQuantity: number;
}

export interface UnitsSold {
  readonly productId: number;
  readonly quantity: number;
}

/** Reads: no lock, no transaction of their own (see "Reads" on UnitOfWork). */
export interface SalesStatistics {
  /**
   * The best sellers over the days, most units first, ties to the lower product id, with the products as
   * they are now.
   */
  topSellers(firstDay: LocalDate, lastDay: LocalDate, limit: number): Promise<ProductSales[]>;
}
