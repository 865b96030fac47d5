import type { DataPlatformClient } from '../../application/ports/data-platform.js';
import type { OrderPaidEvent } from '../../domain/order/order.js';

export type DeliveryLog = (message: string, fields: Record<string, unknown>) => void;

/** Stands in when no DATA_PLATFORM_URL is set: every event is "delivered" to the log, so the outbox drains. */
export class LoggingDataPlatformClient implements DataPlatformClient {
  constructor(private readonly log: DeliveryLog) {}

  async deliver(eventId: string, event: OrderPaidEvent): Promise<void> {
    this.log('data platform not configured; order event logged instead of sent', {
      eventId,
      orderId: event.orderId,
      userId: event.userId,
      paidAmount: event.paidAmount,
      paidAt: event.paidAt,
    });
  }
}
