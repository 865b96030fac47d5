import { DomainError } from '../shared/domain-error.js';

export class OrderNotFoundError extends DomainError {
  readonly code = 'ORDER_NOT_FOUND';

  constructor(orderId: number) {
    super(`Order ${orderId} does not exist.`, { orderId });
  }
}
