import { sql } from 'kysely';
import type { Outbox } from '../../application/ports/outbox.js';
import type { DataPlatformEvent } from '../../domain/data-platform/delivery.js';
import { currentTraceCarrier } from '../tracing/trace-context.js';
import type { Db } from './database.js';

/**
 * The trace context of the request writing an outbox row, as the row's trace_context (JSON), or null when
 * it has none: its delivery continues that trace. Every writer of the outbox stores it.
 */
export function outboxTraceContext(): string | null {
  const carrier = currentTraceCarrier();
  return carrier && JSON.stringify(carrier);
}

export class PgOutbox implements Outbox {
  constructor(private readonly db: Db) {}

  /**
   * Due at once by the database's clock, the one every relay compares with (an instance's own clock running
   * ahead would hold the event back); the relay picks it up after the commit. The event id comes from the
   * database. The schema keeps one ORDER_PAID row per order, and an ORDER_CANCELLED row only with its
   * cancellation, one per cancellation.
   */
  async add(event: DataPlatformEvent, cancellationId?: number): Promise<void> {
    await this.db
      .insertInto('data_platform_outbox')
      .values({
        type: event.type,
        order_id: event.body.orderId,
        cancellation_id: cancellationId ?? null,
        payload: JSON.stringify(event.body),
        trace_context: outboxTraceContext(),
        next_attempt_at: sql<Date>`now()`,
        created_at: sql<Date>`now()`,
      })
      .execute();
  }
}
