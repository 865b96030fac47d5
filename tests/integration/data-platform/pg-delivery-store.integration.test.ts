import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ClaimedDelivery } from '../../../src/domain/data-platform/delivery.js';
import { PgDeliveryStore } from '../../../src/adapters/postgres/pg-delivery-store.js';
import { PgOutbox } from '../../../src/adapters/postgres/pg-outbox.js';
import type { OrderCancelledEvent, OrderPaidEvent } from '../../../src/domain/order/order.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';
import { insertCancellationRow, insertOutboxRows, outboxState } from './outbox-rows.js';

/** An attempt as the relay reports it: a 200 in 12 ms, or a failure with its error. */
const DELIVERED_REPORT = { httpStatus: 200, durationMs: 12, error: null };
const failedWith = (error: string) => ({ httpStatus: 500, durationMs: 12, error });

const database = useTestDatabase({ poolSize: 20 });
const LEASE_MS = 30_000;
/** `ms` from now by this process's clock: the rows' due times, which the store compares with the database's now(). */
const fromNow = (ms: number) => new Date(Date.now() + ms);
const HOUR_MS = 3_600_000;

/** The database's now(); the store reads and writes instants by that clock alone. */
async function dbNow(): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`SELECT now() AS now`.execute(database.db);
  return rows[0]!.now;
}

/** What `step` wrote `ms` after the database's now() falls between the database's now() before and after it. */
async function bracketed<T>(step: () => Promise<T>, ms = 0): Promise<{ result: T; from: Date; to: Date }> {
  const before = await dbNow();
  const result = await step();
  const after = await dbNow();
  return { result, from: new Date(before.getTime() + ms), to: new Date(after.getTime() + ms) };
}

const within = (from: Date, to: Date): unknown =>
  expect.toSatisfy(
    (value: Date) => value >= from && value <= to,
    `between ${from.toISOString()} and ${to.toISOString()}`,
  );

let store: PgDeliveryStore;
beforeEach(async () => {
  store = new PgDeliveryStore(database.db);
  await sql`DELETE FROM data_platform_outbox`.execute(database.db);
});

describe('PgDeliveryStore claiming', () => {
  it('never hands one event to two of five concurrent claimers, and together they get every due one', async () => {
    const due = await insertOutboxRows(database.db, 60, fromNow(-1_000));
    const notYet = await insertOutboxRows(database.db, 5, fromNow(HOUR_MS));

    const claimer = async (): Promise<ClaimedDelivery[]> => {
      const mine: ClaimedDelivery[] = [];
      for (;;) {
        const batch = await store.claimDue(7, LEASE_MS);
        if (batch.length === 0) return mine;
        mine.push(...batch);
      }
    };
    const perClaimer = await Promise.all(Array.from({ length: 5 }, claimer));

    const claimed = perClaimer.flat();
    const ids = claimed.map((delivery) => delivery.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(due.map((row) => row.eventId)));
    expect(claimed.every((delivery) => delivery.attempt === 1)).toBe(true);
    expect(ids).not.toContain(notYet[0]!.eventId);
    await expect(store.claimDue(100, LEASE_MS)).resolves.toEqual([]);
  });

  it('never hands one event out twice when 20 claimers race for the same rows at once', async () => {
    const due = await insertOutboxRows(database.db, 40, fromNow(-1_000));
    // Every connection open beforehand, so the claims really start together.
    await Promise.all(Array.from({ length: 20 }, () => sql`SELECT pg_sleep(0.05)`.execute(database.db)));

    const batches = await Promise.all(Array.from({ length: 20 }, () => store.claimDue(5, LEASE_MS)));

    const ids = batches.flat().map((delivery) => delivery.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => due.some((row) => row.eventId === id))).toBe(true);
    expect(
      await scalar(database.db, sql`SELECT count(*)::int AS value FROM data_platform_outbox WHERE attempts = 1`),
    ).toBe(ids.length);
    expect(
      await scalar(database.db, sql`SELECT count(*)::int AS value FROM data_platform_outbox WHERE attempts > 1`),
    ).toBe(0);
  });

  it('returns the event as written, most overdue first, and leaves rows that are not yet due', async () => {
    const [late] = await insertOutboxRows(database.db, 1, fromNow(-1_000));
    const [oldest] = await insertOutboxRows(database.db, 1, fromNow(-5_000));
    const notYet = fromNow(60_000);
    const [future] = await insertOutboxRows(database.db, 1, notYet);

    const first = await store.claimDue(1, LEASE_MS);
    const rest = await store.claimDue(10, LEASE_MS);

    expect(first).toEqual([
      { eventId: oldest!.eventId, event: oldest!.event, attempt: 1, generation: 0, traceContext: null },
    ]);
    expect(rest.map((delivery) => delivery.eventId)).toEqual([late!.eventId]);
    expect(await outboxState(database.db, future!.eventId)).toMatchObject({
      status: 'PENDING',
      attempts: 0,
      nextAttemptAt: notYet,
    });
  });

  it('hands out what PgOutbox wrote, due at once, as the same event, with an event id of its own', async () => {
    const [existing] = await insertOutboxRows(database.db, 1, fromNow(HOUR_MS));
    const { rows } = await sql<{ id: number }>`
      INSERT INTO orders (user_id, status, total_amount, discount_amount, paid_amount, created_at)
      SELECT user_id, 'PAID', 3000, 0, 3000, now() FROM orders WHERE id = ${existing!.orderId} RETURNING id`.execute(
      database.db,
    );
    const event: OrderPaidEvent = {
      orderId: rows[0]!.id,
      userId: existing!.event.body.userId,
      items: [{ productId: 9, name: 'Mug, "large"', quantity: 3, unitPrice: 1_000, amount: 3_000 }],
      totalAmount: 3_000,
      discountAmount: 0,
      paidAmount: 3_000,
      paidAt: new Date().toISOString(),
    };
    await new PgOutbox(database.db).add({ type: 'ORDER_PAID', body: event });

    const [claimed] = await store.claimDue(10, LEASE_MS);

    expect(claimed).toEqual({
      eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      event: { type: 'ORDER_PAID', body: event },
      attempt: 1,
      generation: 0,
      traceContext: null,
    });
    expect(claimed!.eventId).not.toBe(existing!.eventId);
  });

  it('hands out an ORDER_CANCELLED row as its type and body, once its order’s paid event is delivered', async () => {
    const [paid] = await insertOutboxRows(database.db, 1, fromNow(-5_000));
    const cancelled = await insertCancellationRow(database.db, paid!, { dueAt: fromNow(-1_000) });

    // Due as both are, the cancellation waits while its order's paid event is undelivered.
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([
      { eventId: paid!.eventId, event: paid!.event, attempt: 1, generation: 0, traceContext: null },
    ]);
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([]);
    await store.markDelivered(paid!.eventId, DELIVERED_REPORT);

    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([
      { eventId: cancelled.eventId, event: cancelled.event, attempt: 1, generation: 0, traceContext: null },
    ]);
    expect(cancelled.event).toMatchObject({ type: 'ORDER_CANCELLED', body: { orderId: paid!.orderId } });
  });

  it('hands out what PgOutbox wrote for a cancellation, with the type and cancellation it names', async () => {
    const [paid] = await insertOutboxRows(database.db, 1, fromNow(HOUR_MS));
    const { rows } = await sql<{ id: number }>`
      INSERT INTO order_cancellations (order_id, refund_amount, created_at)
      VALUES (${paid!.orderId}, 9000, now()) RETURNING id`.execute(database.db);
    const cancellationId = rows[0]!.id;
    const event: OrderCancelledEvent = {
      orderId: paid!.orderId,
      userId: paid!.event.body.userId,
      items: [{ productId: 1, quantity: 1 }],
      refundAmount: 9_000,
      cancelledAt: new Date().toISOString(),
    };
    await new PgOutbox(database.db).add({ type: 'ORDER_CANCELLED', body: event }, cancellationId);
    // Its order's paid event, not yet due, holds it until it is delivered.
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([]);
    await store.markDelivered(paid!.eventId, DELIVERED_REPORT);

    const [claimed] = await store.claimDue(10, LEASE_MS);

    expect(claimed).toEqual({
      eventId: expect.any(String),
      event: { type: 'ORDER_CANCELLED', body: event },
      attempt: 1,
      generation: 0,
      traceContext: null,
    });
    const { rows: stored } = await sql<{ type: string; order_id: number; cancellation_id: number | null }>`
      SELECT type, order_id, cancellation_id FROM data_platform_outbox WHERE event_id = ${claimed!.eventId}`.execute(
      database.db,
    );
    expect(stored).toEqual([{ type: 'ORDER_CANCELLED', order_id: paid!.orderId, cancellation_id: cancellationId }]);
  });

  it('leases a claimed event from the database clock: not due again until the lease ends, then the next attempt', async () => {
    const [row] = await insertOutboxRows(database.db, 1, fromNow(-1_000));
    const leaseMs = 500;

    const claim = await bracketed(() => store.claimDue(10, leaseMs), leaseMs);
    expect(claim.result).toHaveLength(1);
    expect(await outboxState(database.db, row!.eventId)).toMatchObject({
      status: 'PENDING',
      attempts: 1,
      nextAttemptAt: within(claim.from, claim.to),
    });
    await expect(store.claimDue(10, leaseMs)).resolves.toEqual([]);

    await sleep(Math.max(0, claim.to.getTime() - (await dbNow()).getTime()) + 50);
    const again = await store.claimDue(10, leaseMs);
    expect(again).toEqual([
      { eventId: row!.eventId, event: row!.event, attempt: 2, generation: 0, traceContext: null },
    ]);
  });
});

describe('PgDeliveryStore outcomes', () => {
  it('reschedules a failed attempt with its error, parks it FAILED at the end, and ignores a stale outcome', async () => {
    const [row] = await insertOutboxRows(database.db, 1, fromNow(-1_000));
    const eventId = row!.eventId;
    await store.claimDue(10, LEASE_MS);

    const retryInMs = 300;
    const failure = await bracketed(
      () => store.recordFailure(eventId, 1, { status: 'PENDING', retryInMs }, failedWith('POST /orders answered 500')),
      retryInMs,
    );
    expect(await outboxState(database.db, eventId)).toEqual({
      status: 'PENDING',
      attempts: 1,
      lastError: 'POST /orders answered 500',
      nextAttemptAt: within(failure.from, failure.to),
      deliveredAt: null,
    });

    await store.recordFailure(eventId, 2, { status: 'FAILED' }, failedWith('from an attempt that was never claimed'));
    expect(await outboxState(database.db, eventId)).toMatchObject({
      status: 'PENDING',
      lastError: 'POST /orders answered 500',
    });

    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([]);
    await sleep(Math.max(0, failure.to.getTime() - (await dbNow()).getTime()) + 50);
    await expect(store.claimDue(10, LEASE_MS)).resolves.toMatchObject([{ eventId, attempt: 2 }]);
    await store.recordFailure(eventId, 2, { status: 'FAILED' }, failedWith('timed out'));
    expect(await outboxState(database.db, eventId)).toMatchObject({
      status: 'FAILED',
      attempts: 2,
      lastError: 'timed out',
      deliveredAt: null,
    });
    await sql`UPDATE data_platform_outbox SET next_attempt_at = now() - interval '1 day'`.execute(database.db);
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([]);
  });

  it('marks an event DELIVERED once, by the database clock, even one parked meanwhile, and keeps that time', async () => {
    const [row] = await insertOutboxRows(database.db, 1, fromNow(-1_000));
    const eventId = row!.eventId;
    await store.claimDue(10, LEASE_MS);
    await store.recordFailure(eventId, 1, { status: 'FAILED' }, failedWith('answered 502'));

    const delivered = await bracketed(() => store.markDelivered(eventId, DELIVERED_REPORT));
    await sleep(5);
    await store.markDelivered(eventId, DELIVERED_REPORT);
    await store.recordFailure(eventId, 1, { status: 'PENDING', retryInMs: 1_000 }, failedWith('late failure'));

    expect(await outboxState(database.db, eventId)).toMatchObject({
      status: 'DELIVERED',
      deliveredAt: within(delivered.from, delivered.to),
      lastError: 'answered 502',
    });
  });

  it('resets a FAILED or PENDING delivery for retry, returns a DELIVERED one unchanged, and knows no unknown id', async () => {
    const [parked, pending, done] = await insertOutboxRows(database.db, 3, fromNow(-1_000));
    await store.claimDue(10, LEASE_MS);
    await store.recordFailure(parked!.eventId, 1, { status: 'FAILED' }, failedWith('down'));
    await store.markDelivered(done!.eventId, DELIVERED_REPORT);
    const { deliveredAt } = await outboxState(database.db, done!.eventId);

    const reset = await bracketed(() => store.resetForRetry(parked!.eventId.toUpperCase()));
    expect(reset.result).toMatchObject({
      before: { eventId: parked!.eventId, status: 'FAILED', attempts: 1, nextAttemptAt: null },
      after: {
        eventId: parked!.eventId,
        status: 'PENDING',
        attempts: 0,
        nextAttemptAt: within(reset.from, reset.to),
        lastError: 'down',
      },
    });
    const resetPending = await bracketed(() => store.resetForRetry(pending!.eventId));
    expect(resetPending.result).toMatchObject({
      before: { status: 'PENDING', attempts: 1 },
      after: { status: 'PENDING', attempts: 0, nextAttemptAt: within(resetPending.from, resetPending.to) },
    });
    const unchanged = { status: 'DELIVERED', attempts: 1, deliveredAt };
    await expect(store.resetForRetry(done!.eventId)).resolves.toMatchObject({ before: unchanged, after: unchanged });
    await expect(store.resetForRetry('00000000-0000-4000-8000-000000000000')).resolves.toBeUndefined();
    await expect(store.resetForRetry('not-a-uuid')).resolves.toBeUndefined();

    const due = await store.claimDue(10, LEASE_MS);
    expect(new Set(due.map((delivery) => delivery.eventId))).toEqual(new Set([parked!.eventId, pending!.eventId]));
  });
});

describe('PgDeliveryStore listing', () => {
  it('lists by outbox id a page at a time, filtered by status, with nextAttemptAt only while PENDING', async () => {
    const rows = await insertOutboxRows(database.db, 5, fromNow(-1_000));
    const claim = await bracketed(() => store.claimDue(10, LEASE_MS), LEASE_MS);
    await store.markDelivered(rows[0]!.eventId, DELIVERED_REPORT);
    await store.recordFailure(rows[1]!.eventId, 1, { status: 'FAILED' }, failedWith('answered 500'));
    await store.markDelivered(rows[3]!.eventId, DELIVERED_REPORT);

    const first = await store.list({}, { limit: 2 });
    const second = await store.list({}, { limit: 2, after: first.nextAfter! });
    const third = await store.list({}, { limit: 2, after: second.nextAfter! });
    expect([first, second, third].map((page) => page.items.map((delivery) => delivery.orderId))).toEqual([
      [rows[0]!.orderId, rows[1]!.orderId],
      [rows[2]!.orderId, rows[3]!.orderId],
      [rows[4]!.orderId],
    ]);
    expect([first.nextAfter, second.nextAfter, third.nextAfter]).toEqual([rows[1]!.id, rows[3]!.id, null]);

    expect(first.items).toEqual([
      {
        id: rows[0]!.id,
        eventId: rows[0]!.eventId,
        type: 'ORDER_PAID',
        orderId: rows[0]!.orderId,
        status: 'DELIVERED',
        attempts: 1,
        lastError: null,
        nextAttemptAt: null,
        deliveredAt: expect.any(Date),
        createdAt: expect.any(Date),
        waitingFor: null,
      },
      {
        id: rows[1]!.id,
        eventId: rows[1]!.eventId,
        type: 'ORDER_PAID',
        orderId: rows[1]!.orderId,
        status: 'FAILED',
        attempts: 1,
        lastError: 'answered 500',
        nextAttemptAt: null,
        deliveredAt: null,
        createdAt: expect.any(Date),
        waitingFor: null,
      },
    ]);
    const delivered = await store.list({ status: 'DELIVERED' }, { limit: 1 });
    expect(delivered.items.map((delivery) => delivery.eventId)).toEqual([rows[0]!.eventId]);
    const deliveredNext = await store.list({ status: 'DELIVERED' }, { limit: 1, after: delivered.nextAfter! });
    expect(deliveredNext).toMatchObject({ items: [{ eventId: rows[3]!.eventId }], nextAfter: null });
    const pending = await store.list({ status: 'PENDING' }, { limit: 20 });
    expect(pending.items.map((delivery) => [delivery.eventId, delivery.nextAttemptAt])).toEqual([
      [rows[2]!.eventId, within(claim.from, claim.to)],
      [rows[4]!.eventId, within(claim.from, claim.to)],
    ]);
    await expect(store.list({ status: 'FAILED' }, { limit: 20 })).resolves.toMatchObject({
      items: [{ eventId: rows[1]!.eventId }],
      nextAfter: null,
    });
  });
});

describe('PgDeliveryStore with cancellations', () => {
  it('retries, parks, resets and delivers a cancellation on its own, and lists and filters it by type', async () => {
    const [paid, other] = await insertOutboxRows(database.db, 2, fromNow(-1_000));
    const cancelled = await insertCancellationRow(database.db, paid!, { dueAt: fromNow(-1_000) });
    await store.claimDue(10, LEASE_MS);
    await store.markDelivered(paid!.eventId, DELIVERED_REPORT);
    // Claimed only now that its order's paid event is delivered.
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([
      { eventId: cancelled.eventId, event: cancelled.event, attempt: 1, generation: 0, traceContext: null },
    ]);
    await store.recordFailure(
      cancelled.eventId,
      1,
      { status: 'FAILED' },
      failedWith('POST /orders/cancellations answered 500'),
    );

    expect(await outboxState(database.db, paid!.eventId)).toMatchObject({ status: 'DELIVERED' });
    expect(await outboxState(database.db, cancelled.eventId)).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      lastError: 'POST /orders/cancellations answered 500',
    });
    const all = await store.list({}, { limit: 10 });
    expect(all.items.map(({ eventId, type, orderId, status }) => ({ eventId, type, orderId, status }))).toEqual([
      { eventId: paid!.eventId, type: 'ORDER_PAID', orderId: paid!.orderId, status: 'DELIVERED' },
      { eventId: other!.eventId, type: 'ORDER_PAID', orderId: other!.orderId, status: 'PENDING' },
      { eventId: cancelled.eventId, type: 'ORDER_CANCELLED', orderId: paid!.orderId, status: 'FAILED' },
    ]);
    await expect(store.list({ type: 'ORDER_CANCELLED' }, { limit: 10 })).resolves.toMatchObject({
      items: [{ eventId: cancelled.eventId }],
      nextAfter: null,
    });
    const paidOnes = await store.list({ type: 'ORDER_PAID', status: 'PENDING' }, { limit: 10 });
    expect(paidOnes.items.map((delivery) => delivery.eventId)).toEqual([other!.eventId]);

    await expect(store.resetForRetry(cancelled.eventId)).resolves.toMatchObject({
      after: { type: 'ORDER_CANCELLED', status: 'PENDING', attempts: 0 },
    });
    await store.markDelivered(other!.eventId, DELIVERED_REPORT);
    // Claimed after the operator's retry: its outcome is that retry's, not the parked attempt's.
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([
      { eventId: cancelled.eventId, event: cancelled.event, attempt: 1, generation: 1, traceContext: null },
    ]);
    await store.markDelivered(cancelled.eventId, DELIVERED_REPORT);
    expect(await outboxState(database.db, cancelled.eventId)).toMatchObject({ status: 'DELIVERED' });
  });
});

describe('the outbox table', () => {
  const insert = (type: string, orderId: number, cancellationId: number | null) =>
    sql`
      INSERT INTO data_platform_outbox (type, order_id, cancellation_id, payload, next_attempt_at, created_at)
      VALUES (${type}, ${orderId}, ${cancellationId}, '{}'::jsonb, now(), now())`.execute(database.db);

  it('holds one ORDER_PAID row per order and one ORDER_CANCELLED row per cancellation, each with its cancellation', async () => {
    const [paid] = await insertOutboxRows(database.db, 1);
    const first = await insertCancellationRow(database.db, paid!);
    await insertCancellationRow(database.db, paid!);
    const { rows } = await sql<{ id: number }>`
      INSERT INTO order_cancellations (order_id, refund_amount, created_at)
      VALUES (${paid!.orderId}, 0, now()) RETURNING id`.execute(database.db);
    const spare = rows[0]!.id;

    await expect(insert('ORDER_PAID', paid!.orderId, null)).rejects.toMatchObject({
      code: '23505',
      constraint: 'data_platform_outbox_one_paid_event',
    });
    await expect(insert('ORDER_CANCELLED', paid!.orderId, null)).rejects.toMatchObject({
      code: '23514',
      constraint: 'data_platform_outbox_event_shape',
    });
    await expect(insert('ORDER_PAID', paid!.orderId, spare)).rejects.toMatchObject({
      code: '23514',
      constraint: 'data_platform_outbox_event_shape',
    });
    await expect(insert('ORDER_CANCELLED', paid!.orderId, first.cancellationId)).rejects.toMatchObject({
      code: '23505',
    });
    await expect(insert('ORDER_REFUNDED', paid!.orderId, spare)).rejects.toMatchObject({ code: '23514' });
    await insert('ORDER_CANCELLED', paid!.orderId, spare);

    expect(
      await scalar(
        database.db,
        sql`SELECT count(*)::int AS value FROM data_platform_outbox WHERE order_id = ${paid!.orderId}`,
      ),
    ).toBe(4);
  });
});
