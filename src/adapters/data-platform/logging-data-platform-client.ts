import type { DataPlatformClient } from '../../application/ports/data-platform.js';
import type { DataPlatformEvent } from '../../domain/data-platform/delivery.js';

export type DeliveryLog = (message: string, fields: Record<string, unknown>) => void;

/** What is logged of each type of event: who and how much, not every line. */
function summary(event: DataPlatformEvent): Record<string, unknown> {
  const { orderId, userId } = event.body;
  switch (event.type) {
    case 'ORDER_PAID':
      return { orderId, userId, paidAmount: event.body.paidAmount, paidAt: event.body.paidAt };
    case 'ORDER_CANCELLED':
      return { orderId, userId, refundAmount: event.body.refundAmount, cancelledAt: event.body.cancelledAt };
  }
}

/** Stands in when no DATA_PLATFORM_URL is set: every event is "delivered" to the log, so the outbox drains. */
export class LoggingDataPlatformClient implements DataPlatformClient {
  constructor(private readonly log: DeliveryLog) {}

  async deliver(eventId: string, event: DataPlatformEvent): Promise<void> {
    this.log('data platform not configured; order event logged instead of sent', {
      eventId,
      type: event.type,
      ...summary(event),
    });
  }
}
