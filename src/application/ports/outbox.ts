import type { OrderPaidEvent } from '../../domain/order/order.js';

/** Inside a unit of work: what must reach the data platform once the transaction commits. */
export interface Outbox {
  add(event: OrderPaidEvent, at: Date): Promise<void>;
}
