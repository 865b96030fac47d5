import type { Product } from '../product/product.js';
import type { SalesWindow } from './shop-calendar.js';

export const POPULAR_PRODUCTS_LIMIT = 5;

export interface PopularProduct {
  readonly rank: number;
  readonly product: Product;
  readonly soldQuantity: number;
}

export interface PopularProducts {
  readonly window: SalesWindow;
  readonly items: PopularProduct[];
}
