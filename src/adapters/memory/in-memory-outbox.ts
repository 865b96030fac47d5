import { randomUUID } from 'node:crypto';
import type { Outbox } from '../../application/ports/outbox.js';
import { Delivery } from '../../domain/data-platform/delivery.js';
import type { OrderPaidEvent } from '../../domain/order/order.js';
import type { InMemoryStore } from './in-memory-store.js';

/** The in-memory outbox table: the unit of work writes its rows, InMemoryDeliveryStore delivers them. */
export class InMemoryOutbox implements Outbox {
  constructor(private readonly store: InMemoryStore) {}

  async add(event: OrderPaidEvent, at: Date): Promise<void> {
    const delivery = Delivery.enqueue({
      id: this.store.nextId('outbox'),
      eventId: randomUUID(),
      orderId: event.orderId,
      at,
    });
    this.store.state.outbox.push({ event: structuredClone(event), delivery: { ...delivery } });
  }
}
