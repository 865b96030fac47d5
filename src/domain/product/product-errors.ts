import { DomainError } from '../shared/domain-error.js';

export class ProductNotFoundError extends DomainError {
  readonly code = 'PRODUCT_NOT_FOUND';

  constructor(productId: number) {
    super(`Product ${productId} does not exist.`, { productId });
  }
}

export class InsufficientStockError extends DomainError {
  readonly code = 'INSUFFICIENT_STOCK';

  constructor(facts: { productId: number; requested: number; available: number }) {
    super(`Product ${facts.productId} has ${facts.available} in stock; ${facts.requested} requested.`, facts);
  }
}

/** A restock refused by the stock limit: the product, its stock, the units it could not take, the limit. */
export type StockLimitFacts = {
  readonly productId: number;
  readonly stock: number;
  readonly stockDelta: number;
  readonly limit: number;
};

export class StockLimitExceededError extends DomainError {
  readonly code = 'STOCK_LIMIT_EXCEEDED';

  constructor(facts: StockLimitFacts) {
    super(`Adding ${facts.stockDelta} would take the stock of product ${facts.productId} past ${facts.limit}.`, facts);
  }
}
