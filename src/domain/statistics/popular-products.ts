import type { Product } from '../product/product.js';
import type { SalesWindow } from './shop-calendar.js';

export const POPULAR_PRODUCTS_LIMIT = 5;

/** The contract lets the ranking lag a committed order by at most this much. */
export const MAX_POPULAR_STALENESS_MS = 5_000;

export interface PopularProduct {
  readonly rank: number;
  readonly product: Product;
  readonly soldQuantity: number;
}

export interface PopularProducts {
  readonly window: SalesWindow;
  readonly items: PopularProduct[];
}
