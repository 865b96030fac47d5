import type { Delivery } from '../../domain/data-platform/delivery.js';
import { DeliveryNotFoundError } from '../../domain/data-platform/delivery-errors.js';
import { type Actor, assertAdmin } from '../shared/actor.js';
import type { DeliveryDetail, DeliveryStore } from '../ports/data-platform.js';

export interface DeliveryOperationInput {
  readonly actor: Actor;
  readonly eventId: string;
}

/** An operator looks at one delivery: its status, what it waits on, the body it sends and its last attempts. */
export class GetDelivery {
  constructor(private readonly deliveries: DeliveryStore) {}

  async execute({ actor, eventId }: DeliveryOperationInput): Promise<DeliveryDetail> {
    assertAdmin(actor);
    const detail = await this.deliveries.find(eventId);
    if (!detail) throw new DeliveryNotFoundError(eventId);
    return detail;
  }
}

/**
 * An operator sends an event again, whatever its status, DELIVERED too (the platform lost it, or restored a
 * backup): the same event id and body, a fresh timestamp and signature, as soon as its order's earlier
 * events allow. The platform dedupes on the event id; a redelivery is for when it has nothing to dedupe.
 */
export class RedeliverEvent {
  constructor(private readonly deliveries: DeliveryStore) {}

  async execute({ actor, eventId }: DeliveryOperationInput): Promise<Delivery> {
    assertAdmin(actor);
    const delivery = await this.deliveries.redeliver(eventId);
    if (!delivery) throw new DeliveryNotFoundError(eventId);
    return delivery;
  }
}
