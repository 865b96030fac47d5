import type { Clock } from '../../application/ports/clock.js';
import type { DeliveryFilter, DeliveryStore } from '../../application/ports/data-platform.js';
import type { Outbox } from '../../application/ports/outbox.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import {
  type ClaimedDelivery,
  type DataPlatformEvent,
  Delivery,
  type FailureOutcome,
} from '../../domain/data-platform/delivery.js';
import { systemClock } from '../system-clock.js';
import { InMemoryOutbox } from './in-memory-outbox.js';
import { InMemoryStore } from './in-memory-store.js';

/**
 * The outbox seen from the relay and from operators, for unit tests and demos: it reads the rows that
 * orders placed through an InMemoryUnitOfWork on the same store wrote, so those orders are delivered.
 * Its own `add` writes the same rows, for tests that start from the outbox. Its clock stands in for the
 * database's now(): give the unit of work the same one.
 */
export class InMemoryDeliveryStore implements DeliveryStore, Outbox {
  private readonly outbox: InMemoryOutbox;

  constructor(
    private readonly store: InMemoryStore = new InMemoryStore(),
    private readonly clock: Clock = systemClock,
  ) {
    this.outbox = new InMemoryOutbox(store, clock);
  }

  add(event: DataPlatformEvent, cancellationId?: number): Promise<void> {
    return this.outbox.add(event, cancellationId);
  }

  /** Every delivery, by id: for assertions. */
  all(): Delivery[] {
    return this.store.state.outbox.map((row) => new Delivery(row.delivery));
  }

  async claimDue(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const now = this.clock.now();
    const leaseUntil = new Date(now.getTime() + leaseMs);
    const due = this.store.state.outbox
      .filter((row) => new Delivery(row.delivery).isDue(now))
      .sort((a, b) => a.delivery.nextAttemptAt!.getTime() - b.delivery.nextAttemptAt!.getTime())
      .slice(0, limit);
    return due.map((row) => {
      const claimed = new Delivery(row.delivery).claim(leaseUntil);
      row.delivery = { ...claimed };
      return { eventId: claimed.eventId, event: structuredClone(row.event), attempt: claimed.attempts };
    });
  }

  async markDelivered(eventId: string): Promise<void> {
    this.update(eventId, (delivery) => delivery.delivered(this.clock.now()));
  }

  async recordFailure(eventId: string, attempt: number, outcome: FailureOutcome, error: string): Promise<void> {
    this.update(eventId, (delivery) => delivery.failed(attempt, outcome, error, this.clock.now()));
  }

  async list({ status, type }: DeliveryFilter, { limit, after }: PageRequest): Promise<Page<Delivery>> {
    const rows = this.all()
      .filter(
        (delivery) =>
          (status === undefined || delivery.status === status) &&
          (type === undefined || delivery.type === type) &&
          (after === undefined || delivery.id > after),
      )
      .slice(0, limit + 1);
    return pageFrom(rows, limit, (delivery) => delivery.id);
  }

  async resetForRetry(eventId: string): Promise<Delivery | undefined> {
    return this.update(eventId, (delivery) => delivery.retried(this.clock.now()));
  }

  private update(eventId: string, change: (delivery: Delivery) => Delivery): Delivery | undefined {
    const row = this.store.state.outbox.find((candidate) => candidate.delivery.eventId === eventId.toLowerCase());
    if (!row) return undefined;
    const changed = change(new Delivery(row.delivery));
    row.delivery = { ...changed };
    return changed;
  }
}
