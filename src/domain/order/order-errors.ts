import { DomainError } from '../shared/domain-error.js';

export class OrderNotFoundError extends DomainError {
  readonly code = 'ORDER_NOT_FOUND';

  constructor(orderId: number) {
    super(`Order ${orderId} does not exist.`, { orderId });
  }
}

/** A line's facts: what was asked, and what is left of that line (0 for a product not in the order). */
type UncancellableLine = { orderId: number; productId: number; requested: number; cancellable: number };

/** Nothing of the order is left to cancel, or a line asks for more of a product than is left of it. */
export class OrderNotCancellableError extends DomainError {
  readonly code = 'ORDER_NOT_CANCELLABLE';

  constructor(facts: { orderId: number } | UncancellableLine) {
    super(
      'productId' in facts
        ? `Order ${facts.orderId} has ${facts.cancellable} of product ${facts.productId} left to cancel; ${facts.requested} requested.`
        : `Order ${facts.orderId} has nothing left to cancel.`,
      facts,
    );
  }
}
