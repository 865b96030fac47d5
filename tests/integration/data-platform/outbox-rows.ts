import { sql } from 'kysely';
import type { Db } from '../../../src/adapters/postgres/database.js';
import type { OrderPaidEvent } from '../../../src/domain/order/order.js';

export interface OutboxRow {
  readonly id: number;
  readonly eventId: string;
  readonly orderId: number;
  readonly event: OrderPaidEvent;
}

/**
 * `count` paid orders of one new user, each with its outbox row due at `dueAt`, written with plain SQL so
 * the tests of the relay depend on nothing but the table. In outbox id order.
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
    inserted.push({ id: rows[0]!.id, eventId: rows[0]!.event_id, orderId: event.orderId, event });
  }
  return inserted;
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
