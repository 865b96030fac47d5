import { sql } from 'kysely';
import type { Db } from '../../../src/adapters/postgres/database.js';
import type { DataPlatformEvent } from '../../../src/domain/data-platform/delivery.js';
import type { OrderCancelledEvent, OrderPaidEvent } from '../../../src/domain/order/order.js';

export interface OutboxRow {
  readonly id: number;
  readonly eventId: string;
  readonly orderId: number;
  readonly event: DataPlatformEvent;
}

/**
 * `count` paid orders of one new user, each with its outbox row due at `dueAt`, written with plain SQL so
 * the tests of the relay depend on nothing but the table (and its default type, ORDER_PAID). In outbox id
 * order.
 */
export async function insertOutboxRows(db: Db, count: number, dueAt: Date = new Date()): Promise<OutboxRow[]> {
  const { rows: users } = await sql<{
    id: number;
  }>`INSERT INTO users (name, created_at) VALUES ('outbox buyer', now()) RETURNING id`.execute(db);
  const userId = users[0]!.id;
  const { rows: orders } = await sql<{ id: number; created_at: Date }>`
    INSERT INTO orders (user_id, status, total_amount, discount_amount, paid_amount, created_at)
    SELECT ${userId}, 'PAID', 10000 + n, 1000, 9000 + n, now() FROM generate_series(1, ${count}) AS n
    RETURNING id, created_at`.execute(db);
  const events = orders
    .sort((a, b) => a.id - b.id)
    .map(
      (order): OrderPaidEvent => ({
        orderId: order.id,
        userId,
        items: [{ productId: 1, name: 'Widget', quantity: 1, unitPrice: 10_000, amount: 10_000 }],
        totalAmount: 10_000,
        discountAmount: 1_000,
        paidAmount: 9_000,
        paidAt: order.created_at.toISOString(),
      }),
    );
  const inserted: OutboxRow[] = [];
  for (const event of events) {
    const { rows } = await sql<{ id: number; event_id: string }>`
      INSERT INTO data_platform_outbox (order_id, payload, next_attempt_at, created_at)
      VALUES (${event.orderId}, ${JSON.stringify(event)}::jsonb, ${dueAt}, now())
      RETURNING id, event_id`.execute(db);
    inserted.push({
      id: rows[0]!.id,
      eventId: rows[0]!.event_id,
      orderId: event.orderId,
      event: { type: 'ORDER_PAID', body: event },
    });
  }
  return inserted;
}

export interface CancellationRow extends OutboxRow {
  readonly cancellationId: number;
}

/**
 * A cancellation of the order of `paid` (a row of insertOutboxRows), refunding `refundAmount`, and its
 * ORDER_CANCELLED outbox row due at `dueAt`, in plain SQL as the Pg cancellation writes them. The
 * cancellation's lines are left out: the outbox does not read them.
 */
export async function insertCancellationRow(
  db: Db,
  paid: OutboxRow,
  { refundAmount = 4_500, dueAt = new Date() }: { refundAmount?: number; dueAt?: Date } = {},
): Promise<CancellationRow> {
  const { rows: cancellations } = await sql<{ id: number; created_at: Date }>`
    INSERT INTO order_cancellations (order_id, refund_amount, created_at)
    VALUES (${paid.orderId}, ${refundAmount}, now())
    RETURNING id, created_at`.execute(db);
  const cancellation = cancellations[0]!;
  const event: OrderCancelledEvent = {
    orderId: paid.orderId,
    userId: paid.event.body.userId,
    items: [{ productId: 1, quantity: 1 }],
    refundAmount,
    cancelledAt: cancellation.created_at.toISOString(),
  };
  const { rows } = await sql<{ id: number; event_id: string }>`
    INSERT INTO data_platform_outbox (type, order_id, cancellation_id, payload, next_attempt_at, created_at)
    VALUES ('ORDER_CANCELLED', ${paid.orderId}, ${cancellation.id}, ${JSON.stringify(event)}::jsonb, ${dueAt}, now())
    RETURNING id, event_id`.execute(db);
  return {
    id: rows[0]!.id,
    eventId: rows[0]!.event_id,
    orderId: paid.orderId,
    cancellationId: cancellation.id,
    event: { type: 'ORDER_CANCELLED', body: event },
  };
}

export interface OutboxState {
  readonly status: string;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly nextAttemptAt: Date;
  readonly deliveredAt: Date | null;
}

/** The row as stored, read with plain SQL. */
export async function outboxState(db: Db, eventId: string): Promise<OutboxState> {
  const { rows } = await sql<OutboxState>`
    SELECT status, attempts, last_error AS "lastError", next_attempt_at AS "nextAttemptAt", delivered_at AS "deliveredAt"
    FROM data_platform_outbox WHERE event_id = ${eventId}`.execute(db);
  return rows[0]!;
}
