import { randomUUID } from 'node:crypto';
import type { Clock } from '../../application/ports/clock.js';
import type { Outbox } from '../../application/ports/outbox.js';
import { Delivery } from '../../domain/data-platform/delivery.js';
import type { OrderPaidEvent } from '../../domain/order/order.js';
import type { InMemoryStore } from './in-memory-store.js';

/** The in-memory outbox table: the unit of work writes its rows, InMemoryDeliveryStore delivers them. */
export class InMemoryOutbox implements Outbox {
  constructor(
    private readonly store: InMemoryStore,
    /** What stands in for the database's now(): the clock InMemoryDeliveryStore judges due times by. */
    private readonly clock: Clock,
  ) {}

  async add(event: OrderPaidEvent): Promise<void> {
    const delivery = Delivery.enqueue({
      id: this.store.nextId('outbox'),
      eventId: randomUUID(),
      orderId: event.orderId,
      at: this.clock.now(),
    });
    this.store.state.outbox.push({ event: structuredClone(event), delivery: { ...delivery } });
  }
}
