import type { Delivery } from '../../domain/data-platform/delivery.js';
import { AlreadyDeliveredError, DeliveryNotFoundError } from '../../domain/data-platform/delivery-errors.js';
import { type Actor, assertAdmin } from '../shared/actor.js';
import type { DeliveryStore } from '../ports/data-platform.js';

export interface RetryDeliveryInput {
  readonly actor: Actor;
  readonly eventId: string;
}

/**
 * An operator sends a parked (or slow) delivery again: due now, attempts from zero. A retry of a delivery
 * that is being sent right now may send it twice; the platform dedupes on the event id.
 */
export class RetryDelivery {
  constructor(private readonly deliveries: DeliveryStore) {}

  async execute({ actor, eventId }: RetryDeliveryInput): Promise<Delivery> {
    assertAdmin(actor);
    const delivery = await this.deliveries.resetForRetry(eventId);
    if (!delivery) throw new DeliveryNotFoundError(eventId);
    if (delivery.status === 'DELIVERED') {
      throw new AlreadyDeliveredError({ eventId, deliveredAt: delivery.deliveredAt?.toISOString() ?? null });
    }
    return delivery;
  }
}
