import { randomUUID } from 'node:crypto';
import type { Clock } from '../../application/ports/clock.js';
import type { Outbox } from '../../application/ports/outbox.js';
import { type DataPlatformEvent, Delivery } from '../../domain/data-platform/delivery.js';
import { currentTraceCarrier } from '../tracing/trace-context.js';
import type { InMemoryStore } from './in-memory-store.js';

/** The in-memory outbox table: the unit of work writes its rows, InMemoryDeliveryStore delivers them. */
export class InMemoryOutbox implements Outbox {
  constructor(
    private readonly store: InMemoryStore,
    /** What stands in for the database's now(): the clock InMemoryDeliveryStore judges due times by. */
    private readonly clock: Clock,
  ) {}

  /** Refuses what the table's constraints refuse: a second ORDER_PAID row for an order, a cancellation twice. */
  async add(event: DataPlatformEvent, cancellationId?: number): Promise<void> {
    const rows = this.store.state.outbox;
    if (event.type === 'ORDER_PAID') {
      if (cancellationId !== undefined) throw new Error('An ORDER_PAID event names no cancellation.');
      if (rows.some((row) => row.event.type === 'ORDER_PAID' && row.event.body.orderId === event.body.orderId))
        throw new Error(`Order ${event.body.orderId} has its ORDER_PAID event already.`);
    }
    if (cancellationId !== undefined && rows.some((row) => row.cancellationId === cancellationId))
      throw new Error(`Cancellation ${cancellationId} has its event already.`);
    const delivery = Delivery.enqueue({
      id: this.store.nextId('outbox'),
      eventId: randomUUID(),
      event,
      at: this.clock.now(),
    });
    rows.push({
      event: structuredClone(event),
      cancellationId: cancellationId ?? null,
      delivery: { ...delivery },
      traceContext: currentTraceCarrier(),
    });
  }
}
