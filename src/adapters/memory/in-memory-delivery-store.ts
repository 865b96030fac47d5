import type { Clock } from '../../application/ports/clock.js';
import type {
  DeliveryDetail,
  DeliveryFilter,
  DeliveryStep,
  DeliveryStore,
} from '../../application/ports/data-platform.js';
import type { Outbox } from '../../application/ports/outbox.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import {
  type AttemptReport,
  type ClaimedDelivery,
  type DataPlatformEvent,
  Delivery,
  type FailureOutcome,
  KEPT_ATTEMPTS,
} from '../../domain/data-platform/delivery.js';
import { systemClock } from '../system-clock.js';
import { InMemoryOutbox } from './in-memory-outbox.js';
import { InMemoryStore, type OutboxRecord } from './in-memory-store.js';

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

  /** Every delivery, by id, each with what it waits on: for assertions. */
  all(): Delivery[] {
    return this.store.state.outbox.map((row) => this.deliveryOf(row));
  }

  /** The row's delivery, with the earliest undelivered earlier event of its order while it is PENDING. */
  private deliveryOf(row: OutboxRecord): Delivery {
    const { delivery } = row;
    const earlier = this.store.state.outbox.find(
      (other) =>
        other.delivery.orderId === delivery.orderId &&
        other.delivery.id < delivery.id &&
        other.delivery.status !== 'DELIVERED',
    );
    return new Delivery({
      ...delivery,
      waitingFor: delivery.status === 'PENDING' ? (earlier?.delivery.eventId ?? null) : null,
    });
  }

  async claimDue(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const now = this.clock.now();
    const leaseUntil = new Date(now.getTime() + leaseMs);
    const due = this.store.state.outbox
      .filter((row) => this.deliveryOf(row).isDue(now) && this.deliveryOf(row).waitingFor === null)
      .sort(
        (a, b) =>
          a.delivery.nextAttemptAt!.getTime() - b.delivery.nextAttemptAt!.getTime() || a.delivery.id - b.delivery.id,
      )
      .slice(0, limit);
    return due.map((row) => {
      const claimed = new Delivery(row.delivery).claim(leaseUntil);
      row.delivery = { ...claimed };
      return {
        eventId: claimed.eventId,
        event: structuredClone(row.event),
        attempt: claimed.attempts,
        generation: row.generation ?? 0,
        traceContext: row.traceContext ?? null,
      };
    });
  }

  async markDelivered(eventId: string, report: AttemptReport, generation?: number): Promise<void> {
    this.keep(eventId, 'DELIVERED', report);
    if (this.isCurrent(eventId, generation)) this.update(eventId, (delivery) => delivery.delivered(this.clock.now()));
  }

  async recordFailure(
    eventId: string,
    attempt: number,
    outcome: FailureOutcome,
    report: AttemptReport,
    generation?: number,
  ): Promise<void> {
    this.keep(eventId, 'FAILED', report);
    if (!this.isCurrent(eventId, generation)) return;
    this.update(eventId, (delivery) => delivery.failed(attempt, outcome, report.error ?? '', this.clock.now()));
  }

  /** No operator's step since the attempt of `generation` was claimed (no check without one). */
  private isCurrent(eventId: string, generation: number | undefined): boolean {
    return generation === undefined || (this.rowOf(eventId)?.generation ?? 0) === generation;
  }

  async find(eventId: string): Promise<DeliveryDetail | undefined> {
    const row = this.rowOf(eventId);
    if (!row) return undefined;
    return {
      delivery: this.deliveryOf(row),
      payload: { eventId: row.delivery.eventId, ...structuredClone(row.event.body) },
      attempts: [...(row.attempts ?? [])],
    };
  }

  async redeliver(eventId: string): Promise<DeliveryStep | undefined> {
    this.nextGeneration(eventId);
    return this.update(eventId, (delivery) => delivery.redelivered(this.clock.now()));
  }

  /** An operator's step: outcomes of attempts claimed before it are stale. */
  private nextGeneration(eventId: string): void {
    const row = this.rowOf(eventId);
    if (row) row.generation = (row.generation ?? 0) + 1;
  }

  /** Attempt `report`, ending now, kept with its outcome: the latest KEPT_ATTEMPTS of the event remain. */
  private keep(eventId: string, outcome: 'DELIVERED' | 'FAILED', report: AttemptReport): void {
    const row = this.rowOf(eventId);
    if (!row) return;
    const attemptedAt = new Date(this.clock.now().getTime() - report.durationMs);
    row.attempts = [...(row.attempts ?? []), { attemptedAt, outcome, ...report }].slice(-KEPT_ATTEMPTS);
  }

  private rowOf(eventId: string): OutboxRecord | undefined {
    return this.store.state.outbox.find((candidate) => candidate.delivery.eventId === eventId.toLowerCase());
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

  async resetForRetry(eventId: string): Promise<DeliveryStep | undefined> {
    if (this.rowOf(eventId)?.delivery.status !== 'DELIVERED') this.nextGeneration(eventId);
    return this.update(eventId, (delivery) => delivery.retried(this.clock.now()));
  }

  /** An operator's step on the row: inside an InMemoryUnitOfWork on the same store, undone with its work. */
  private update(eventId: string, change: (delivery: Delivery) => Delivery): DeliveryStep | undefined {
    const row = this.rowOf(eventId);
    if (!row) return undefined;
    const before = this.deliveryOf(row);
    const { waitingFor: _waitingFor, ...changed } = change(new Delivery(row.delivery));
    row.delivery = changed;
    return { before, after: this.deliveryOf(row) };
  }
}
