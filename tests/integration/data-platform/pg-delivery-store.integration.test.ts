import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ClaimedDelivery } from '../../../src/domain/data-platform/delivery.js';
import { PgDeliveryStore } from '../../../src/adapters/postgres/pg-delivery-store.js';
import { PgOutbox } from '../../../src/adapters/postgres/pg-outbox.js';
import type { OrderPaidEvent } from '../../../src/domain/order/order.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';
import { insertOutboxRows, outboxState } from './outbox-rows.js';

const database = useTestDatabase({ poolSize: 20 });
const T0 = new Date('2026-11-24T03:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const LEASE_MS = 30_000;

let store: PgDeliveryStore;
beforeEach(async () => {
  store = new PgDeliveryStore(database.db);
  await sql`DELETE FROM data_platform_outbox`.execute(database.db);
});

describe('PgDeliveryStore claiming', () => {
  it('never hands one event to two of five concurrent claimers, and together they get every due one', async () => {
    const due = await insertOutboxRows(database.db, 60, T0);
    const notYet = await insertOutboxRows(database.db, 5, at(3_600_000));

    const claimer = async (): Promise<ClaimedDelivery[]> => {
      const mine: ClaimedDelivery[] = [];
      for (;;) {
        const batch = await store.claimDue(7, at(1_000), at(1_000 + LEASE_MS));
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
    await expect(store.claimDue(100, at(1_000), at(1_000 + LEASE_MS))).resolves.toEqual([]);
  });

  it('never hands one event out twice when 20 claimers race for the same rows at once', async () => {
    const due = await insertOutboxRows(database.db, 40, T0);
    // Every connection open beforehand, so the claims really start together.
    await Promise.all(Array.from({ length: 20 }, () => sql`SELECT pg_sleep(0.05)`.execute(database.db)));

    const batches = await Promise.all(Array.from({ length: 20 }, () => store.claimDue(5, T0, at(LEASE_MS))));

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
    const [late] = await insertOutboxRows(database.db, 1, at(-1_000));
    const [oldest] = await insertOutboxRows(database.db, 1, at(-5_000));
    const [future] = await insertOutboxRows(database.db, 1, at(1));

    const first = await store.claimDue(1, T0, at(LEASE_MS));
    const rest = await store.claimDue(10, T0, at(LEASE_MS));

    expect(first).toEqual([{ eventId: oldest!.eventId, event: oldest!.event, attempt: 1 }]);
    expect(rest.map((delivery) => delivery.eventId)).toEqual([late!.eventId]);
    expect(await outboxState(database.db, future!.eventId)).toMatchObject({
      status: 'PENDING',
      attempts: 0,
      nextAttemptAt: at(1),
    });
  });

  it('hands out what PgOutbox wrote, as the same event, with an event id of its own', async () => {
    const [existing] = await insertOutboxRows(database.db, 1, at(3_600_000));
    const { rows } = await sql<{ id: number }>`
      INSERT INTO orders (user_id, status, total_amount, discount_amount, paid_amount, created_at)
      SELECT user_id, 'PAID', 3000, 0, 3000, now() FROM orders WHERE id = ${existing!.orderId} RETURNING id`.execute(
      database.db,
    );
    const event: OrderPaidEvent = {
      orderId: rows[0]!.id,
      userId: existing!.event.userId,
      items: [{ productId: 9, name: 'Mug, "large"', quantity: 3, unitPrice: 1_000, amount: 3_000 }],
      totalAmount: 3_000,
      discountAmount: 0,
      paidAmount: 3_000,
      paidAt: T0.toISOString(),
    };
    await new PgOutbox(database.db).add(event, T0);

    const [claimed] = await store.claimDue(10, T0, at(LEASE_MS));

    expect(claimed).toEqual({ eventId: expect.stringMatching(/^[0-9a-f-]{36}$/), event, attempt: 1 });
    expect(claimed!.eventId).not.toBe(existing!.eventId);
  });

  it('leases a claimed event: not due again until the lease ends, then claimed as the next attempt', async () => {
    const [row] = await insertOutboxRows(database.db, 1, T0);

    expect(await store.claimDue(10, T0, at(LEASE_MS))).toHaveLength(1);
    expect(await outboxState(database.db, row!.eventId)).toMatchObject({
      status: 'PENDING',
      attempts: 1,
      nextAttemptAt: at(LEASE_MS),
    });
    await expect(store.claimDue(10, at(LEASE_MS - 1), at(2 * LEASE_MS))).resolves.toEqual([]);

    const again = await store.claimDue(10, at(LEASE_MS), at(2 * LEASE_MS));
    expect(again).toEqual([{ eventId: row!.eventId, event: row!.event, attempt: 2 }]);
  });
});

describe('PgDeliveryStore outcomes', () => {
  it('reschedules a failed attempt with its error, parks it FAILED at the end, and ignores a stale outcome', async () => {
    const [row] = await insertOutboxRows(database.db, 1, T0);
    const eventId = row!.eventId;
    await store.claimDue(10, T0, at(LEASE_MS));

    await store.recordFailure(eventId, 1, { status: 'PENDING', nextAttemptAt: at(1_000) }, 'POST /orders answered 500');
    expect(await outboxState(database.db, eventId)).toEqual({
      status: 'PENDING',
      attempts: 1,
      lastError: 'POST /orders answered 500',
      nextAttemptAt: at(1_000),
      deliveredAt: null,
    });

    await store.recordFailure(eventId, 2, { status: 'FAILED' }, 'from an attempt that was never claimed');
    expect(await outboxState(database.db, eventId)).toMatchObject({
      status: 'PENDING',
      lastError: 'POST /orders answered 500',
    });

    await expect(store.claimDue(10, at(1_000), at(1_000 + LEASE_MS))).resolves.toMatchObject([{ eventId, attempt: 2 }]);
    await store.recordFailure(eventId, 2, { status: 'FAILED' }, 'timed out');
    expect(await outboxState(database.db, eventId)).toMatchObject({
      status: 'FAILED',
      attempts: 2,
      lastError: 'timed out',
      deliveredAt: null,
    });
    await expect(store.claimDue(10, at(86_400_000), at(86_400_000 + LEASE_MS))).resolves.toEqual([]);
  });

  it('marks an event DELIVERED once, even one parked meanwhile, and keeps the first delivery time', async () => {
    const [row] = await insertOutboxRows(database.db, 1, T0);
    const eventId = row!.eventId;
    await store.claimDue(10, T0, at(LEASE_MS));
    await store.recordFailure(eventId, 1, { status: 'FAILED' }, 'answered 502');

    await store.markDelivered(eventId, at(500));
    await store.markDelivered(eventId, at(900));
    await store.recordFailure(eventId, 1, { status: 'PENDING', nextAttemptAt: at(1_000) }, 'late failure');

    expect(await outboxState(database.db, eventId)).toMatchObject({
      status: 'DELIVERED',
      deliveredAt: at(500),
      lastError: 'answered 502',
    });
  });

  it('resets a FAILED or PENDING delivery for retry, returns a DELIVERED one unchanged, and knows no unknown id', async () => {
    const [parked, pending, done] = await insertOutboxRows(database.db, 3, T0);
    await store.claimDue(10, T0, at(LEASE_MS));
    await store.recordFailure(parked!.eventId, 1, { status: 'FAILED' }, 'down');
    await store.markDelivered(done!.eventId, at(10));

    await expect(store.resetForRetry(parked!.eventId.toUpperCase(), at(60_000))).resolves.toMatchObject({
      eventId: parked!.eventId,
      status: 'PENDING',
      attempts: 0,
      nextAttemptAt: at(60_000),
      lastError: 'down',
    });
    await expect(store.resetForRetry(pending!.eventId, at(60_000))).resolves.toMatchObject({
      status: 'PENDING',
      attempts: 0,
      nextAttemptAt: at(60_000),
    });
    await expect(store.resetForRetry(done!.eventId, at(60_000))).resolves.toMatchObject({
      status: 'DELIVERED',
      attempts: 1,
      deliveredAt: at(10),
    });
    await expect(store.resetForRetry('00000000-0000-4000-8000-000000000000', at(60_000))).resolves.toBeUndefined();
    await expect(store.resetForRetry('not-a-uuid', at(60_000))).resolves.toBeUndefined();

    const due = await store.claimDue(10, at(60_000), at(60_000 + LEASE_MS));
    expect(new Set(due.map((delivery) => delivery.eventId))).toEqual(new Set([parked!.eventId, pending!.eventId]));
  });
});

describe('PgDeliveryStore listing', () => {
  it('lists by outbox id a page at a time, filtered by status, with nextAttemptAt only while PENDING', async () => {
    const rows = await insertOutboxRows(database.db, 5, T0);
    await store.claimDue(10, T0, at(LEASE_MS));
    await store.markDelivered(rows[0]!.eventId, at(100));
    await store.recordFailure(rows[1]!.eventId, 1, { status: 'FAILED' }, 'answered 500');
    await store.markDelivered(rows[3]!.eventId, at(200));

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
        orderId: rows[0]!.orderId,
        status: 'DELIVERED',
        attempts: 1,
        lastError: null,
        nextAttemptAt: null,
        deliveredAt: at(100),
        createdAt: expect.any(Date),
      },
      {
        id: rows[1]!.id,
        eventId: rows[1]!.eventId,
        orderId: rows[1]!.orderId,
        status: 'FAILED',
        attempts: 1,
        lastError: 'answered 500',
        nextAttemptAt: null,
        deliveredAt: null,
        createdAt: expect.any(Date),
      },
    ]);
    const delivered = await store.list({ status: 'DELIVERED' }, { limit: 1 });
    expect(delivered.items.map((delivery) => delivery.eventId)).toEqual([rows[0]!.eventId]);
    const deliveredNext = await store.list({ status: 'DELIVERED' }, { limit: 1, after: delivered.nextAfter! });
    expect(deliveredNext).toMatchObject({ items: [{ eventId: rows[3]!.eventId }], nextAfter: null });
    const pending = await store.list({ status: 'PENDING' }, { limit: 20 });
    expect(pending.items.map((delivery) => [delivery.eventId, delivery.nextAttemptAt])).toEqual([
      [rows[2]!.eventId, at(LEASE_MS)],
      [rows[4]!.eventId, at(LEASE_MS)],
    ]);
    await expect(store.list({ status: 'FAILED' }, { limit: 20 })).resolves.toMatchObject({
      items: [{ eventId: rows[1]!.eventId }],
      nextAfter: null,
    });
  });
});
