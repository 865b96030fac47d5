import { assertWholeAmount } from '../shared/money.js';
import { validName } from '../shared/text.js';
import { InsufficientStockError, StockLimitExceededError } from './product-errors.js';

/** Why stock changed other than by a sale: a product's first stock, or an admin's restock or correction. */
export const STOCK_ADJUSTMENT_REASONS = ['INITIAL', 'ADJUSTMENT', 'CANCELLATION'] as const;
export type StockAdjustmentReason = (typeof STOCK_ADJUSTMENT_REASONS)[number];

export const PRODUCT_NAME_MAX_LENGTH = 200;
export const MAX_PRICE = 100_000_000;
export const MAX_STOCK = 1_000_000_000;

/**
 * The stock limit on every restock, an admin's or a cancellation's: `stockDelta` more units that would take
 * `stock` past MAX_STOCK are refused. PostgreSQL's cancellation states the same comparison in its statement.
 */
export const exceedsStockLimit = (stock: number, stockDelta: number): boolean => stock + stockDelta > MAX_STOCK;

export interface ProductDraft {
  readonly name: string;
  readonly price: number;
  readonly stock: number;
}

export interface ProductProps extends ProductDraft {
  readonly id: number;
}

/** A catalog entry. Immutable: every change returns a new Product. */
export class Product implements ProductProps {
  readonly id: number;
  readonly name: string;
  readonly price: number;
  readonly stock: number;

  constructor(props: ProductProps) {
    this.id = props.id;
    this.name = props.name;
    this.price = props.price;
    this.stock = props.stock;
  }

  static draft({ name, price, stock }: ProductDraft): ProductDraft {
    const validated = validName('name', name, PRODUCT_NAME_MAX_LENGTH);
    assertWholeAmount('price', price, 1, MAX_PRICE);
    assertWholeAmount('stock', stock, 0, MAX_STOCK);
    return { name: validated, price, stock };
  }

  withPrice(price: number): Product {
    assertWholeAmount('price', price, 1, MAX_PRICE);
    return this.with({ price });
  }

  /** Restock (positive) or correct (negative); stock never goes below 0 nor past MAX_STOCK. */
  adjustStock(delta: number): Product {
    assertWholeAmount('stockDelta', delta, -MAX_STOCK, MAX_STOCK);
    if (this.stock + delta < 0) {
      throw new InsufficientStockError({ productId: this.id, requested: -delta, available: this.stock });
    }
    if (exceedsStockLimit(this.stock, delta)) {
      throw new StockLimitExceededError({ productId: this.id, stock: this.stock, stockDelta: delta, limit: MAX_STOCK });
    }
    return this.with({ stock: this.stock + delta });
  }

  /** Takes `quantity` units for an order. */
  take(quantity: number): Product {
    assertWholeAmount('quantity', quantity, 1, MAX_STOCK);
    if (quantity > this.stock) {
      throw new InsufficientStockError({ productId: this.id, requested: quantity, available: this.stock });
    }
    return this.with({ stock: this.stock - quantity });
  }

  private with(changes: Partial<ProductProps>): Product {
    return new Product({ ...this, ...changes });
  }
}
