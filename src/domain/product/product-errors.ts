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

export class StockLimitExceededError extends DomainError {
  readonly code = 'STOCK_LIMIT_EXCEEDED';

  constructor(facts: { productId: number; stock: number; stockDelta: number; limit: number }) {
    super(`Adding ${facts.stockDelta} would take the stock of product ${facts.productId} past ${facts.limit}.`, facts);
  }
}
