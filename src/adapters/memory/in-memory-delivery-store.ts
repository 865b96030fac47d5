import { randomUUID } from 'node:crypto';
import type { DeliveryFilter, DeliveryStore } from '../../application/ports/data-platform.js';
import type { Outbox } from '../../application/ports/outbox.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import {
  type ClaimedDelivery,
  type Delivery,
  type FailureOutcome,
  claim,
  delivered,
  failed,
  isDue,
  retried,
} from '../../domain/data-platform/delivery.js';
import type { OrderPaidEvent } from '../../domain/order/order.js';

interface Row {
  delivery: Delivery;
  readonly event: OrderPaidEvent;
}

/** The outbox in memory, for unit tests and demos: it is also the Outbox the orders are written to. */
export class InMemoryDeliveryStore implements DeliveryStore, Outbox {
  private readonly rows: Row[] = [];

  async add(event: OrderPaidEvent, at: Date): Promise<void> {
    this.rows.push({
      event: structuredClone(event),
      delivery: {
        id: this.rows.length + 1,
        eventId: randomUUID(),
        orderId: event.orderId,
        status: 'PENDING',
        attempts: 0,
        lastError: null,
        nextAttemptAt: at,
        deliveredAt: null,
        createdAt: at,
      },
    });
  }

  /** Every delivery, by id: for assertions. */
  all(): Delivery[] {
    return this.rows.map((row) => row.delivery);
  }

  async claimDue(limit: number, now: Date, leaseUntil: Date): Promise<ClaimedDelivery[]> {
    const due = this.rows
      .filter((row) => isDue(row.delivery, now))
      .sort((a, b) => a.delivery.nextAttemptAt!.getTime() - b.delivery.nextAttemptAt!.getTime())
      .slice(0, limit);
    return due.map((row) => {
      row.delivery = claim(row.delivery, leaseUntil);
      return { eventId: row.delivery.eventId, event: structuredClone(row.event), attempt: row.delivery.attempts };
    });
  }

  async markDelivered(eventId: string, at: Date): Promise<void> {
    this.update(eventId, (delivery) => delivered(delivery, at));
  }

  async recordFailure(eventId: string, attempt: number, outcome: FailureOutcome, error: string): Promise<void> {
    this.update(eventId, (delivery) => failed(delivery, attempt, outcome, error));
  }

  async list({ status }: DeliveryFilter, { limit, after }: PageRequest): Promise<Page<Delivery>> {
    const rows = this.all()
      .filter(
        (delivery) =>
          (status === undefined || delivery.status === status) && (after === undefined || delivery.id > after),
      )
      .slice(0, limit + 1);
    return pageFrom(rows, limit, (delivery) => delivery.id);
  }

  async resetForRetry(eventId: string, at: Date): Promise<Delivery | undefined> {
    return this.update(eventId, (delivery) => retried(delivery, at));
  }

  private update(eventId: string, change: (delivery: Delivery) => Delivery): Delivery | undefined {
    const row = this.rows.find((candidate) => candidate.delivery.eventId === eventId.toLowerCase());
    if (!row) return undefined;
    row.delivery = change(row.delivery);
    return row.delivery;
  }
}
