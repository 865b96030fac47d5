import { DomainError } from '../shared/domain-error.js';

export class DeliveryNotFoundError extends DomainError {
  readonly code = 'DELIVERY_NOT_FOUND';

  constructor(eventId: string) {
    super(`No delivery has event id ${eventId}.`, { eventId });
  }
}

export class AlreadyDeliveredError extends DomainError {
  readonly code = 'ALREADY_DELIVERED';

  constructor(facts: { eventId: string; deliveredAt: string | null }) {
    super(`Event ${facts.eventId} has been delivered already; there is nothing to retry.`, facts);
  }
}
