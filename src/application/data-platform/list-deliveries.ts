import type { DataPlatformEventType, Delivery, DeliveryStatus } from '../../domain/data-platform/delivery.js';
import { type Actor, assertAdmin } from '../shared/actor.js';
import type { Page, PageRequest } from '../shared/pagination.js';
import type { DeliveryStore } from '../ports/data-platform.js';

export interface ListDeliveriesInput {
  readonly actor: Actor;
  readonly status?: DeliveryStatus | undefined;
  readonly type?: DataPlatformEventType | undefined;
  readonly page: PageRequest;
}

export class ListDeliveries {
  constructor(private readonly deliveries: DeliveryStore) {}

  async execute({ actor, status, type, page }: ListDeliveriesInput): Promise<Page<Delivery>> {
    assertAdmin(actor);
    return this.deliveries.list({ status, type }, page);
  }
}
