import { type Selectable, sql } from 'kysely';
import type { DeliveryFilter, DeliveryStore } from '../../application/ports/data-platform.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import {
  type ClaimedDelivery,
  type DataPlatformEvent,
  type DataPlatformEventType,
  Delivery,
  type FailureOutcome,
} from '../../domain/data-platform/delivery.js';
import type { OrderCancelledEvent, OrderPaidEvent } from '../../domain/order/order.js';
import type { Db } from './database.js';
import type { DataPlatformOutboxTable } from './tables.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `ms` after the database's now(): every instant the outbox compares is the database's, never a process's. */
const inMs = (ms: number) => sql<Date>`now() + ${ms}::double precision * interval '1 millisecond'`;

/** The stored payload is the event's body; its type is the row's (a CHECK keeps it to the known ones). */
function eventOf(type: DataPlatformEventType, payload: Record<string, unknown>): DataPlatformEvent {
  return type === 'ORDER_CANCELLED'
    ? { type, body: payload as unknown as OrderCancelledEvent }
    : { type, body: payload as unknown as OrderPaidEvent };
}

const toDelivery = (row: Selectable<DataPlatformOutboxTable>) =>
  new Delivery({
    id: row.id,
    eventId: row.event_id,
    type: row.type,
    orderId: row.order_id,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    nextAttemptAt: row.status === 'PENDING' ? row.next_attempt_at : null,
    deliveredAt: row.delivered_at,
    createdAt: row.created_at,
  });

export class PgDeliveryStore implements DeliveryStore {
  constructor(private readonly db: Db) {}

  /**
   * One statement, so one short transaction of its own: the due rows are locked, skipping any another
   * claimer holds, and leased and counted before the commit. The sends happen after it. Due and lease are
   * both by the database's now(), so a claimer whose clock is off can neither take a row another still holds
   * nor write a lease that has run out already.
   */
  async claimDue(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const { rows } = await sql<{
      event_id: string;
      type: DataPlatformEventType;
      payload: Record<string, unknown>;
      attempts: number;
    }>`
      WITH due AS MATERIALIZED (
        SELECT id FROM data_platform_outbox
        WHERE status = 'PENDING' AND next_attempt_at <= now()
        ORDER BY next_attempt_at, id
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED
      )
      UPDATE data_platform_outbox AS outbox
      SET attempts = outbox.attempts + 1, next_attempt_at = ${inMs(leaseMs)}
      FROM due
      WHERE outbox.id = due.id
      RETURNING outbox.event_id, outbox.type, outbox.payload, outbox.attempts`.execute(this.db);
    return rows.map((row) => ({
      eventId: row.event_id,
      event: eventOf(row.type, row.payload),
      attempt: row.attempts,
    }));
  }

  async markDelivered(eventId: string): Promise<void> {
    await this.db
      .updateTable('data_platform_outbox')
      .set({ status: 'DELIVERED', delivered_at: sql<Date>`now()` })
      .where('event_id', '=', eventId)
      .where('status', '<>', 'DELIVERED')
      .execute();
  }

  async recordFailure(eventId: string, attempt: number, outcome: FailureOutcome, error: string): Promise<void> {
    await this.db
      .updateTable('data_platform_outbox')
      .set(
        outcome.status === 'FAILED'
          ? { status: 'FAILED', last_error: error }
          : { last_error: error, next_attempt_at: inMs(outcome.retryInMs) },
      )
      .where('event_id', '=', eventId)
      .where('status', '=', 'PENDING')
      .where('attempts', '=', attempt)
      .execute();
  }

  async list({ status, type }: DeliveryFilter, { limit, after }: PageRequest): Promise<Page<Delivery>> {
    let query = this.db.selectFrom('data_platform_outbox').selectAll();
    if (status !== undefined) query = query.where('status', '=', status);
    if (type !== undefined) query = query.where('type', '=', type);
    if (after !== undefined) query = query.where('id', '>', after);
    const rows = await query
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    return pageFrom(rows.map(toDelivery), limit, (delivery) => delivery.id);
  }

  async resetForRetry(eventId: string): Promise<Delivery | undefined> {
    if (!UUID.test(eventId)) return undefined;
    const reset = await this.db
      .updateTable('data_platform_outbox')
      .set({ status: 'PENDING', attempts: 0, next_attempt_at: sql<Date>`now()` })
      .where('event_id', '=', eventId)
      .where('status', '<>', 'DELIVERED')
      .returningAll()
      .executeTakeFirst();
    if (reset) return toDelivery(reset);
    const row = await this.db
      .selectFrom('data_platform_outbox')
      .selectAll()
      .where('event_id', '=', eventId)
      .executeTakeFirst();
    return row && toDelivery(row);
  }
}
