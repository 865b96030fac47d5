import type { OrderPaidEvent } from '../../domain/order/order.js';

/** Inside a unit of work: what must reach the data platform once the transaction commits. */
export interface Outbox {
  /** Due at once by the store's clock (see DeliveryStore), which is the one the relays compare with. */
  add(event: OrderPaidEvent): Promise<void>;
}
