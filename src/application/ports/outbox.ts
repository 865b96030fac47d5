import type { DataPlatformEvent } from '../../domain/data-platform/delivery.js';

/** Inside a unit of work: what must reach the data platform once the transaction commits. */
export interface Outbox {
  /**
   * Due at once by the store's clock (see DeliveryStore), which is the one the relays compare with. An
   * ORDER_CANCELLED event names its cancellation, `cancellationId`: an order has one ORDER_PAID event and one
   * ORDER_CANCELLED per cancellation, each delivered on its own.
   */
  add(event: DataPlatformEvent, cancellationId?: number): Promise<void>;
}
