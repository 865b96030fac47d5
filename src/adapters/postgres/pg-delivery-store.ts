import { type Selectable, sql } from 'kysely';
import type {
  DeliveryDetail,
  DeliveryFilter,
  DeliveryStep,
  DeliveryStore,
} from '../../application/ports/data-platform.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import {
  type AttemptReport,
  type ClaimedDelivery,
  type DataPlatformEvent,
  type DataPlatformEventType,
  Delivery,
  type FailureOutcome,
  KEPT_ATTEMPTS,
  type TraceContext,
} from '../../domain/data-platform/delivery.js';
import type { OrderCancelledEvent, OrderPaidEvent } from '../../domain/order/order.js';
import type { Db } from './database.js';
import { currentTransaction, inCurrentTransaction } from './pg-transaction-context.js';
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

/** The earliest undelivered earlier event of the row `outbox`'s order: what it waits on, or null. */
const waitingFor = sql<string | null>`(
  SELECT earlier.event_id FROM data_platform_outbox earlier
  WHERE earlier.order_id = outbox.order_id AND earlier.id < outbox.id AND earlier.status <> 'DELIVERED'
  ORDER BY earlier.id LIMIT 1)`;

/**
 * Attempt `report`, ending now, of the event `eventId`, kept with its outcome; of that event's attempts only
 * the latest KEPT_ATTEMPTS remain (the older ones are removed in the same statement).
 */
const keptAttempt = (
  eventId: string,
  outcome: 'DELIVERED' | 'FAILED',
  { httpStatus, durationMs, error }: AttemptReport,
) => sql`
  target AS (SELECT id FROM data_platform_outbox WHERE event_id = ${eventId}::uuid),
  kept AS (
    INSERT INTO data_platform_delivery_attempts (outbox_id, attempted_at, outcome, http_status, duration_ms, error)
    SELECT id, now() - ${durationMs}::double precision * interval '1 millisecond', ${outcome},
           ${httpStatus}::integer, ${durationMs}::integer, ${error}::text
    FROM target
  ),
  pruned AS (
    DELETE FROM data_platform_delivery_attempts attempt USING target
    WHERE attempt.outbox_id = target.id
      AND attempt.id < (SELECT older.id FROM data_platform_delivery_attempts older
                        WHERE older.outbox_id = target.id ORDER BY older.id DESC OFFSET ${KEPT_ATTEMPTS - 2} LIMIT 1)
  )`;

/** The row is as the attempt was claimed: no operator's step since (no check without a generation). */
const current = (generation: number | undefined) =>
  generation === undefined ? sql`true` : sql`generation = ${generation}::integer`;

const toDelivery = (row: Selectable<DataPlatformOutboxTable> & { waiting_for?: string | null }) =>
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
    waitingFor: row.status === 'PENDING' ? (row.waiting_for ?? null) : null,
  });

export class PgDeliveryStore implements DeliveryStore {
  constructor(private readonly db: Db) {}

  /**
   * One statement, so one short transaction of its own: the due rows are locked, skipping any another
   * claimer holds, and leased and counted before the commit. The sends happen after it. Due and lease are
   * both by the database's now(), so a claimer whose clock is off can neither take a row another still holds
   * nor write a lease that has run out already. A row is due only once every earlier event of its order is
   * delivered: a cancellation never goes out before its order, nor before the order's earlier cancellations.
   */
  async claimDue(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const { rows } = await sql<{
      event_id: string;
      type: DataPlatformEventType;
      payload: Record<string, unknown>;
      attempts: number;
      generation: number;
      trace_context: TraceContext | null;
    }>`
      WITH due AS MATERIALIZED (
        SELECT id FROM data_platform_outbox
        WHERE status = 'PENDING' AND next_attempt_at <= now()
          AND NOT EXISTS (
            SELECT FROM data_platform_outbox earlier
            WHERE earlier.order_id = data_platform_outbox.order_id AND earlier.id < data_platform_outbox.id
              AND earlier.status <> 'DELIVERED')
        ORDER BY next_attempt_at, id
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED
      )
      UPDATE data_platform_outbox AS outbox
      SET attempts = outbox.attempts + 1, next_attempt_at = ${inMs(leaseMs)}
      FROM due
      WHERE outbox.id = due.id
      RETURNING outbox.event_id, outbox.type, outbox.payload, outbox.attempts, outbox.generation,
        outbox.trace_context`.execute(this.db);
    return rows.map((row) => ({
      eventId: row.event_id,
      event: eventOf(row.type, row.payload),
      attempt: row.attempts,
      generation: row.generation,
      traceContext: row.trace_context,
    }));
  }

  async markDelivered(eventId: string, report: AttemptReport, generation?: number): Promise<void> {
    if (!UUID.test(eventId)) return;
    await sql`
      WITH ${keptAttempt(eventId, 'DELIVERED', report)}
      UPDATE data_platform_outbox SET status = 'DELIVERED', delivered_at = now()
      WHERE event_id = ${eventId}::uuid AND status <> 'DELIVERED' AND ${current(generation)}`.execute(this.db);
  }

  async recordFailure(
    eventId: string,
    attempt: number,
    outcome: FailureOutcome,
    report: AttemptReport,
    generation?: number,
  ): Promise<void> {
    if (!UUID.test(eventId)) return;
    const change =
      outcome.status === 'FAILED'
        ? sql`status = 'FAILED', last_error = ${report.error}`
        : sql`last_error = ${report.error}, next_attempt_at = ${inMs(outcome.retryInMs)}`;
    await sql`
      WITH ${keptAttempt(eventId, 'FAILED', report)}
      UPDATE data_platform_outbox SET ${change}
      WHERE event_id = ${eventId}::uuid AND status = 'PENDING' AND attempts = ${attempt} AND ${current(generation)}`.execute(
      this.db,
    );
  }

  async list({ status, type }: DeliveryFilter, { limit, after }: PageRequest): Promise<Page<Delivery>> {
    let query = this.db.selectFrom('data_platform_outbox as outbox').selectAll().select(waitingFor.as('waiting_for'));
    if (status !== undefined) query = query.where('outbox.status', '=', status);
    if (type !== undefined) query = query.where('outbox.type', '=', type);
    if (after !== undefined) query = query.where('outbox.id', '>', after);
    const rows = await query
      .orderBy('outbox.id')
      .limit(limit + 1)
      .execute();
    return pageFrom(rows.map(toDelivery), limit, (delivery) => delivery.id);
  }

  async resetForRetry(eventId: string): Promise<DeliveryStep | undefined> {
    return this.dueAgain(eventId, { redelivery: false });
  }

  /**
   * An operator's step: due now with its attempts reset, and a new generation, so an outcome of an attempt
   * claimed before it changes nothing. A retry leaves a DELIVERED event as it is; a redelivery takes any,
   * and clears what the last delivery left. The row stays locked from the read of `before` to the commit:
   * the call chain's unit of work's when one is open (its audit entry commits with the step), else the
   * step's own transaction. NO KEY UPDATE, as the step changes no key: a relay recording an attempt, whose
   * foreign key takes KEY SHARE on this row, is not held up till the operator's transaction commits.
   */
  private async dueAgain(eventId: string, { redelivery }: { redelivery: boolean }): Promise<DeliveryStep | undefined> {
    if (!UUID.test(eventId)) return undefined;
    const step = async (db: Db): Promise<DeliveryStep | undefined> => {
      const found = await this.row(db, eventId).forNoKeyUpdate().executeTakeFirst();
      if (!found) return undefined;
      let update = db
        .updateTable('data_platform_outbox')
        .set((eb) => ({
          status: 'PENDING',
          attempts: 0,
          next_attempt_at: sql<Date>`now()`,
          generation: eb('generation', '+', 1),
          ...(redelivery ? { last_error: null, delivered_at: null } : {}),
        }))
        .where('id', '=', found.id);
      if (!redelivery) update = update.where('status', '<>', 'DELIVERED');
      await update.execute();
      const after = await this.row(db, eventId).executeTakeFirstOrThrow();
      return { before: toDelivery(found), after: toDelivery(after) };
    };
    return currentTransaction() ? inCurrentTransaction(this.db, step) : this.db.transaction().execute(step);
  }

  /** The delivery's row as it stands, with what it waits on. */
  private row(db: Db, eventId: string) {
    return db
      .selectFrom('data_platform_outbox as outbox')
      .selectAll('outbox')
      .select(waitingFor.as('waiting_for'))
      .where('outbox.event_id', '=', eventId);
  }

  async find(eventId: string): Promise<DeliveryDetail | undefined> {
    if (!UUID.test(eventId)) return undefined;
    const row = await this.row(this.db, eventId).executeTakeFirst();
    if (!row) return undefined;
    const attempts = await this.db
      .selectFrom('data_platform_delivery_attempts')
      .selectAll()
      .where('outbox_id', '=', row.id)
      .orderBy('id', 'desc')
      .limit(KEPT_ATTEMPTS)
      .execute();
    return {
      delivery: toDelivery(row),
      payload: { eventId: row.event_id, ...row.payload },
      attempts: attempts.reverse().map((attempt) => ({
        attemptedAt: attempt.attempted_at,
        outcome: attempt.outcome,
        httpStatus: attempt.http_status,
        durationMs: attempt.duration_ms,
        error: attempt.error,
      })),
    };
  }

  async redeliver(eventId: string): Promise<DeliveryStep | undefined> {
    return this.dueAgain(eventId, { redelivery: true });
  }
}
