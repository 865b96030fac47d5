import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { InMemoryDeliveryStore } from '../../../src/adapters/memory/in-memory-delivery-store.js';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { PgDeliveryStore } from '../../../src/adapters/postgres/pg-delivery-store.js';
import type { DeliveryStore } from '../../../src/application/ports/data-platform.js';
import {
  type AttemptReport,
  type ClaimedDelivery,
  type DataPlatformEvent,
  KEPT_ATTEMPTS,
} from '../../../src/domain/data-platform/delivery.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';
import { type OutboxRow, insertCancellationRow, insertOutboxRows } from './outbox-rows.js';

/**
 * The DeliveryStore's contract on an order's events and on what operators read of them, the same suite over
 * PgDeliveryStore and InMemoryDeliveryStore: an event is claimed only once every earlier event of its order is
 * DELIVERED; each attempt is kept, the latest KEPT_ATTEMPTS; an operator's redelivery sends any event again.
 */
const database = useTestDatabase({ poolSize: 10 });
const LEASE_MS = 30_000;
const UNKNOWN_EVENT_ID = '00000000-0000-4000-8000-000000000000';
const DELIVERED: AttemptReport = { httpStatus: 200, durationMs: 12, error: null };
const failed = (error: string, httpStatus: number | null = 503): AttemptReport => ({
  httpStatus,
  durationMs: 12,
  error,
});
/** Due again at once: the next claim may take it. */
const RETRY_AT_ONCE = { status: 'PENDING', retryInMs: 0 } as const;

/** An event in the outbox, as its test wrote it. */
interface Written {
  readonly eventId: string;
  readonly orderId: number;
  readonly event: DataPlatformEvent;
}

interface Outbox {
  readonly store: DeliveryStore;
  /** A new order's ORDER_PAID event, due now. */
  readonly paid: () => Promise<Written>;
  /** A new cancellation of `order` (an event of paid()) and its ORDER_CANCELLED event, due now. */
  readonly cancellation: (order: Written) => Promise<Written>;
  /** The store's now(), the instant it dates and compares everything by. */
  readonly now: () => Promise<Date>;
}

/** An empty outbox on PostgreSQL: the rows in plain SQL (with the orders they need), as the writers store them. */
async function onPostgres(): Promise<Outbox> {
  await sql`DELETE FROM data_platform_outbox`.execute(database.db);
  // Due a second ago by this process's clock, so that no difference from the database's can leave one not due.
  const dueAt = () => new Date(Date.now() - 1_000);
  const paidRows = new Map<string, OutboxRow>();
  return {
    store: new PgDeliveryStore(database.db),
    paid: async () => {
      const [row] = await insertOutboxRows(database.db, 1, dueAt());
      paidRows.set(row!.eventId, row!);
      return row!;
    },
    cancellation: (order) => insertCancellationRow(database.db, paidRows.get(order.eventId)!, { dueAt: dueAt() }),
    now: async () => (await sql<{ now: Date }>`SELECT now() AS now`.execute(database.db)).rows[0]!.now,
  };
}

/** An empty in-memory outbox whose clock stands in for the database's; it never moves unless a test moves it. */
async function inMemory(): Promise<Outbox> {
  const clock = new ManualClock('2026-11-24T03:00:00.000Z');
  const store = new InMemoryDeliveryStore(new InMemoryStore(), clock);
  let orders = 100;
  let cancellations = 0;
  const written = (event: DataPlatformEvent): Written => {
    const eventId = store.all().at(-1)!.eventId;
    return { eventId, orderId: event.body.orderId, event };
  };
  return {
    store,
    paid: async () => {
      const orderId = ++orders;
      const event: DataPlatformEvent = {
        type: 'ORDER_PAID',
        body: {
          orderId,
          userId: 7,
          items: [{ productId: 1, name: 'Widget', quantity: 1, unitPrice: 10_000, amount: 10_000 }],
          totalAmount: 10_000,
          discountAmount: 1_000,
          paidAmount: 9_000,
          paidAt: clock.now().toISOString(),
        },
      };
      await store.add(event);
      return written(event);
    },
    cancellation: async (order) => {
      const event: DataPlatformEvent = {
        type: 'ORDER_CANCELLED',
        body: {
          orderId: order.orderId,
          userId: 7,
          items: [{ productId: 1, quantity: 1 }],
          refundAmount: 4_500,
          cancelledAt: clock.now().toISOString(),
        },
      };
      await store.add(event, ++cancellations);
      return written(event);
    },
    now: async () => clock.now(),
  };
}

const adapters = [
  { name: 'PostgreSQL', open: onPostgres },
  { name: 'in memory', open: inMemory },
];

const claimedIds = (claimed: ClaimedDelivery[]) => claimed.map((delivery) => delivery.eventId).sort();
const idsOf = (...events: Written[]) => events.map((event) => event.eventId).sort();
const claimOf = (written: Written, attempt = 1, generation = 0): ClaimedDelivery => ({
  eventId: written.eventId,
  event: written.event,
  attempt,
  generation,
  traceContext: null,
});

const within = (from: Date, to: Date): unknown =>
  expect.toSatisfy(
    (value: Date) => value >= from && value <= to,
    `between ${from.toISOString()} and ${to.toISOString()}`,
  );
const before = (instant: Date, ms: number) => new Date(instant.getTime() - ms);

/** What each listed delivery waits on, by event id. */
async function waitingOf(store: DeliveryStore): Promise<Record<string, string | null>> {
  const { items } = await store.list({}, { limit: 100 });
  return Object.fromEntries(items.map((delivery) => [delivery.eventId, delivery.waitingFor]));
}

describe.each(adapters)('DeliveryStore on $name: an order’s events in order', ({ open }) => {
  it('claims a cancellation only after its order’s paid event and earlier cancellations are delivered, while other orders never wait', async () => {
    const { store, paid, cancellation } = await open();
    const order = await paid();
    const first = await cancellation(order);
    const second = await cancellation(order);
    const other = await paid();

    expect(await waitingOf(store)).toEqual({
      [order.eventId]: null,
      [first.eventId]: order.eventId,
      [second.eventId]: order.eventId,
      [other.eventId]: null,
    });
    const firstClaim = await store.claimDue(10, LEASE_MS);
    expect(claimedIds(firstClaim)).toEqual(idsOf(order, other));
    expect(firstClaim).toEqual(expect.arrayContaining([claimOf(order), claimOf(other)]));
    // Claimed is not delivered: the cancellations still wait.
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([]);

    await store.markDelivered(order.eventId, DELIVERED);
    // The first cancellation no longer waits; the second now waits on the first (the earliest undelivered).
    expect(await waitingOf(store)).toEqual({
      [order.eventId]: null,
      [first.eventId]: null,
      [second.eventId]: first.eventId,
      [other.eventId]: null,
    });
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([claimOf(first)]);
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([]);
    await expect(store.find(second.eventId)).resolves.toMatchObject({
      delivery: { status: 'PENDING', waitingFor: first.eventId },
    });

    await store.markDelivered(first.eventId, DELIVERED);
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([claimOf(second)]);
    await store.markDelivered(second.eventId, DELIVERED);
    // The other order's event, still out (claimed, never settled), held none of them.
    expect(await waitingOf(store)).toEqual({
      [order.eventId]: null,
      [first.eventId]: null,
      [second.eventId]: null,
      [other.eventId]: null,
    });
  });

  it('fills waitingFor in a filtered list too, and only while the event is PENDING', async () => {
    const { store, paid, cancellation } = await open();
    const order = await paid();
    const first = await cancellation(order);
    const second = await cancellation(order);
    await store.claimDue(10, LEASE_MS);
    await store.markDelivered(order.eventId, DELIVERED);
    await store.claimDue(10, LEASE_MS);
    await store.recordFailure(first.eventId, 1, { status: 'FAILED' }, failed('answered 500', 500));

    const pending = await store.list({ status: 'PENDING' }, { limit: 10 });
    const cancellations = await store.list({ type: 'ORDER_CANCELLED' }, { limit: 10 });

    expect(pending.items.map(({ eventId, waitingFor }) => ({ eventId, waitingFor }))).toEqual([
      { eventId: second.eventId, waitingFor: first.eventId },
    ]);
    // A parked event waits on nothing: it is not sent until an operator says so.
    expect(cancellations.items.map(({ eventId, status, waitingFor }) => ({ eventId, status, waitingFor }))).toEqual([
      { eventId: first.eventId, status: 'FAILED', waitingFor: null },
      { eventId: second.eventId, status: 'PENDING', waitingFor: first.eventId },
    ]);
  });

  it('holds a cancellation behind its order’s parked paid event until an operator’s retry has it delivered', async () => {
    const { store, paid, cancellation } = await open();
    const order = await paid();
    const cancelled = await cancellation(order);
    const other = await paid();
    const otherCancelled = await cancellation(other);
    expect(claimedIds(await store.claimDue(10, LEASE_MS))).toEqual(idsOf(order, other));
    await store.recordFailure(order.eventId, 1, { status: 'FAILED' }, failed('answered 500', 500));
    await store.markDelivered(other.eventId, DELIVERED);

    // Due as it is, the cancellation is not claimed: its order's paid event is parked, not delivered.
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([claimOf(otherCancelled)]);
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([]);
    expect((await waitingOf(store))[cancelled.eventId]).toBe(order.eventId);

    await expect(store.resetForRetry(order.eventId)).resolves.toMatchObject({
      after: { status: 'PENDING', attempts: 0 },
    });
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([claimOf(order, 1, 1)]);
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([]);
    await store.markDelivered(order.eventId, DELIVERED);

    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([claimOf(cancelled)]);
  });
});

describe.each(adapters)('DeliveryStore on $name: attempts', ({ open }) => {
  it('keeps each attempt’s outcome, status, duration and error, oldest first, with the body it sends', async () => {
    const { store, paid, cancellation, now } = await open();
    const order = await paid();
    const cancelled = await cancellation(order);
    const start = await now();

    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([claimOf(order)]);
    await store.recordFailure(order.eventId, 1, RETRY_AT_ONCE, {
      httpStatus: 503,
      durationMs: 120,
      error: 'POST /orders answered 503',
    });
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([claimOf(order, 2)]);
    await store.recordFailure(order.eventId, 2, RETRY_AT_ONCE, {
      httpStatus: null,
      durationMs: 5_000,
      error: 'timed out after 5000 ms',
    });
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([claimOf(order, 3)]);
    await store.markDelivered(order.eventId, { httpStatus: 202, durationMs: 42, error: null });
    const end = await now();

    // Each attempt is dated by the store's clock: when it was recorded, less how long it took.
    const attempted = (durationMs: number) => within(before(start, durationMs), before(end, durationMs));
    await expect(store.find(order.eventId)).resolves.toEqual({
      delivery: expect.objectContaining({
        eventId: order.eventId,
        type: 'ORDER_PAID',
        status: 'DELIVERED',
        attempts: 3,
        lastError: 'timed out after 5000 ms',
        waitingFor: null,
      }),
      payload: { eventId: order.eventId, ...order.event.body },
      attempts: [
        {
          attemptedAt: attempted(120),
          outcome: 'FAILED',
          httpStatus: 503,
          durationMs: 120,
          error: 'POST /orders answered 503',
        },
        {
          attemptedAt: attempted(5_000),
          outcome: 'FAILED',
          httpStatus: null,
          durationMs: 5_000,
          error: 'timed out after 5000 ms',
        },
        { attemptedAt: attempted(42), outcome: 'DELIVERED', httpStatus: 202, durationMs: 42, error: null },
      ],
    });
    // Another event's detail: its own body and attempts (none yet), and no one else's.
    await expect(store.find(cancelled.eventId)).resolves.toEqual({
      delivery: expect.objectContaining({ eventId: cancelled.eventId, type: 'ORDER_CANCELLED', attempts: 0 }),
      payload: { eventId: cancelled.eventId, ...cancelled.event.body },
      attempts: [],
    });
  });

  it(`keeps only an event’s latest ${KEPT_ATTEMPTS} attempts, each event’s apart`, async () => {
    const { store, paid, now } = await open();
    const order = await paid();
    const other = await paid();

    // 25 rounds: both events claimed and failed each time, but the last, when `order` is delivered.
    for (let attempt = 1; attempt <= 25; attempt++) {
      expect(claimedIds(await store.claimDue(10, LEASE_MS))).toEqual(idsOf(order, other));
      await store.recordFailure(other.eventId, attempt, RETRY_AT_ONCE, failed(`other’s attempt ${attempt}`));
      if (attempt < 25)
        await store.recordFailure(order.eventId, attempt, RETRY_AT_ONCE, failed(`attempt ${attempt}`, 500 + attempt));
      else await store.markDelivered(order.eventId, { ...DELIVERED, httpStatus: 201 });
    }
    const end = await now();

    const detail = await store.find(order.eventId);
    const kept = Array.from({ length: KEPT_ATTEMPTS }, (_, i) => i + 25 - KEPT_ATTEMPTS + 1);
    expect(detail?.attempts.map(({ outcome, httpStatus, error }) => ({ outcome, httpStatus, error }))).toEqual(
      kept.map((attempt) =>
        attempt < 25
          ? { outcome: 'FAILED', httpStatus: 500 + attempt, error: `attempt ${attempt}` }
          : { outcome: 'DELIVERED', httpStatus: 201, error: null },
      ),
    );
    const times = detail!.attempts.map((attempt) => attempt.attemptedAt.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(Math.max(...times)).toBeLessThanOrEqual(end.getTime());
    const others = await store.find(other.eventId);
    expect(others?.attempts.map((attempt) => attempt.error)).toEqual(
      Array.from({ length: KEPT_ATTEMPTS }, (_, i) => `other’s attempt ${i + 25 - KEPT_ATTEMPTS + 1}`),
    );
  });

  it('finds no event for an unknown event id', async () => {
    const { store, paid } = await open();
    const order = await paid();

    await expect(store.find(UNKNOWN_EVENT_ID)).resolves.toBeUndefined();
    await expect(store.find('not-an-event-id')).resolves.toBeUndefined();
    await expect(store.find(order.eventId.toUpperCase())).resolves.toMatchObject({
      delivery: { eventId: order.eventId },
    });
  });
});

describe.each(adapters)('DeliveryStore on $name: redelivery', ({ open }) => {
  it('sends a DELIVERED event again: due now, attempts and error cleared, the same event id and body', async () => {
    const { store, paid, now } = await open();
    const order = await paid();
    await store.claimDue(10, LEASE_MS);
    await store.recordFailure(order.eventId, 1, RETRY_AT_ONCE, failed('answered 500', 500));
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([claimOf(order, 2)]);
    await store.markDelivered(order.eventId, DELIVERED);
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([]);

    const from = await now();
    const redelivered = await store.redeliver(order.eventId);
    const to = await now();

    expect(redelivered).toMatchObject({
      before: { eventId: order.eventId, status: 'DELIVERED', attempts: 2 },
      after: {
        eventId: order.eventId,
        status: 'PENDING',
        attempts: 0,
        lastError: null,
        nextAttemptAt: within(from, to),
        deliveredAt: null,
      },
    });
    await expect(store.find(order.eventId)).resolves.toMatchObject({
      delivery: { status: 'PENDING', attempts: 0, deliveredAt: null, waitingFor: null },
      payload: { eventId: order.eventId, ...order.event.body },
    });
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([claimOf(order, 1, 1)]);
    // Its earlier attempts stay on record beside the new ones.
    await store.markDelivered(order.eventId, DELIVERED);
    await expect(store.find(order.eventId)).resolves.toMatchObject({
      delivery: { status: 'DELIVERED', attempts: 1 },
      attempts: [{ outcome: 'FAILED' }, { outcome: 'DELIVERED' }, { outcome: 'DELIVERED' }],
    });
  });

  it('sends a parked or a PENDING event again as well, and knows no unknown event id', async () => {
    const { store, paid } = await open();
    const parked = await paid();
    const pending = await paid();
    await store.claimDue(10, LEASE_MS);
    await store.recordFailure(parked.eventId, 1, { status: 'FAILED' }, failed('answered 500', 500));

    await expect(store.redeliver(parked.eventId)).resolves.toMatchObject({
      after: { status: 'PENDING', attempts: 0, lastError: null },
    });
    await expect(store.redeliver(pending.eventId)).resolves.toMatchObject({
      after: { status: 'PENDING', attempts: 0 },
    });
    expect(claimedIds(await store.claimDue(10, LEASE_MS))).toEqual(idsOf(parked, pending));
    await expect(store.redeliver(UNKNOWN_EVENT_ID)).resolves.toBeUndefined();
    await expect(store.redeliver('not-an-event-id')).resolves.toBeUndefined();
  });

  it('holds the order’s later undelivered events again while a redelivered earlier one is out', async () => {
    const { store, paid, cancellation } = await open();
    const order = await paid();
    const first = await cancellation(order);
    const second = await cancellation(order);
    await store.claimDue(10, LEASE_MS);
    await store.markDelivered(order.eventId, DELIVERED);
    await store.claimDue(10, LEASE_MS);
    await store.markDelivered(first.eventId, DELIVERED);
    expect((await waitingOf(store))[second.eventId]).toBeNull();

    await store.redeliver(order.eventId);

    // The second cancellation comes after the paid event, so it is sent after the paid event's new delivery.
    expect((await waitingOf(store))[second.eventId]).toBe(order.eventId);
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([claimOf(order, 1, 1)]);
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([]);
    await store.markDelivered(order.eventId, DELIVERED);
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([claimOf(second)]);
    await expect(store.find(first.eventId)).resolves.toMatchObject({ delivery: { status: 'DELIVERED' } });
  });
});

describe.each(adapters)('DeliveryStore on $name: an outcome that comes back after an operator’s step', ({ open }) => {
  it('keeps a redelivery when a success claimed before it comes back: the event goes out again', async () => {
    const { store, paid } = await open();
    const order = await paid();
    const [before] = await store.claimDue(10, LEASE_MS);
    await store.redeliver(order.eventId);

    await store.markDelivered(order.eventId, DELIVERED, before!.generation);

    await expect(store.find(order.eventId)).resolves.toMatchObject({
      delivery: { status: 'PENDING', attempts: 0 },
      attempts: [{ outcome: 'DELIVERED' }],
    });
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([claimOf(order, 1, 1)]);
  });

  it('lets a failure claimed before a redelivery or a retry touch nothing but its record', async () => {
    const { store, paid } = await open();
    const order = await paid();
    const [stale] = await store.claimDue(10, LEASE_MS);
    await store.redeliver(order.eventId);
    // The redelivery's own first attempt, in flight under its lease, with the same attempt number.
    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([claimOf(order, 1, 1)]);

    await store.recordFailure(
      order.eventId,
      stale!.attempt,
      RETRY_AT_ONCE,
      failed('timed out', null),
      stale!.generation,
    );

    await expect(store.claimDue(10, LEASE_MS)).resolves.toEqual([]);
    await expect(store.find(order.eventId)).resolves.toMatchObject({
      delivery: { status: 'PENDING', attempts: 1, lastError: null },
      attempts: [{ outcome: 'FAILED', error: 'timed out' }],
    });
    await store.resetForRetry(order.eventId);
    await store.recordFailure(order.eventId, 1, { status: 'FAILED' }, failed('late', null), 1);
    await expect(store.find(order.eventId)).resolves.toMatchObject({ delivery: { status: 'PENDING' } });
  });
});

describe.each(adapters)('DeliveryStore on $name: what an operator’s step returns', ({ open }) => {
  /** An order whose paid event and cancellation were both delivered, and then the paid event redelivered. */
  async function paidEventRedelivered() {
    const { store, paid, cancellation } = await open();
    const order = await paid();
    const cancelled = await cancellation(order);
    await store.claimDue(10, LEASE_MS);
    await store.markDelivered(order.eventId, DELIVERED);
    await store.claimDue(10, LEASE_MS);
    return { store, order, cancelled };
  }

  // The operator's answer shows the delivery as the list does: one that waits says on what.
  it('returns a redelivered event with the earlier event of its order it waits on', async () => {
    const { store, order, cancelled } = await paidEventRedelivered();
    await store.markDelivered(cancelled.eventId, DELIVERED);
    await store.redeliver(order.eventId);

    await expect(store.redeliver(cancelled.eventId)).resolves.toMatchObject({
      after: { status: 'PENDING', waitingFor: order.eventId },
    });
  });

  it('returns an event reset for retry with the earlier event of its order it waits on', async () => {
    const { store, order, cancelled } = await paidEventRedelivered();
    await store.recordFailure(cancelled.eventId, 1, { status: 'FAILED' }, failed('answered 500', 500));
    await store.redeliver(order.eventId);

    await expect(store.resetForRetry(cancelled.eventId)).resolves.toMatchObject({
      after: { status: 'PENDING', waitingFor: order.eventId },
    });
  });
});

describe('PgDeliveryStore: the attempts table', () => {
  it(`holds no more than ${KEPT_ATTEMPTS} rows of an event, the oldest removed as a new one is kept`, async () => {
    const { store, paid } = await onPostgres();
    const order = await paid();
    const rowsOf = () =>
      scalar(
        database.db,
        sql`SELECT count(*)::int AS value FROM data_platform_delivery_attempts attempt
            JOIN data_platform_outbox outbox ON outbox.id = attempt.outbox_id
            WHERE outbox.event_id = ${order.eventId}`,
      );

    // Reports of attempts that were never claimed are kept all the same (the port keeps every report).
    for (let attempt = 1; attempt <= KEPT_ATTEMPTS; attempt++)
      await store.recordFailure(order.eventId, attempt, RETRY_AT_ONCE, failed(`attempt ${attempt}`));
    expect(await rowsOf()).toBe(KEPT_ATTEMPTS);
    await store.markDelivered(order.eventId, DELIVERED);
    await store.markDelivered(order.eventId, DELIVERED);

    expect(await rowsOf()).toBe(KEPT_ATTEMPTS);
    const detail = await store.find(order.eventId);
    expect(detail?.attempts.map((attempt) => attempt.error ?? attempt.outcome)).toEqual([
      ...Array.from({ length: KEPT_ATTEMPTS - 2 }, (_, i) => `attempt ${i + 3}`),
      'DELIVERED',
      'DELIVERED',
    ]);
  });
});

describe('PgDeliveryStore: an order’s events under concurrent claimers', () => {
  /** `orders` paid orders, each with its paid event and two cancellations; and what each event waits on. */
  async function ordersWithCancellations(orders: number) {
    await sql`DELETE FROM data_platform_outbox`.execute(database.db);
    const dueAt = new Date(Date.now() - 1_000);
    const paid = await insertOutboxRows(database.db, orders, dueAt);
    const earlier = new Map<string, string[]>(paid.map((row) => [row.eventId, []]));
    const cancellations: string[] = [];
    for (const row of paid) {
      const first = await insertCancellationRow(database.db, row, { dueAt });
      const second = await insertCancellationRow(database.db, row, { dueAt });
      earlier.set(first.eventId, [row.eventId]);
      earlier.set(second.eventId, [row.eventId, first.eventId]);
      cancellations.push(first.eventId, second.eventId);
    }
    // Every connection open beforehand, so the claims really start together.
    await Promise.all(Array.from({ length: 8 }, () => sql`SELECT pg_sleep(0.05)`.execute(database.db)));
    return { paid: paid.map((row) => row.eventId), cancellations, earlier };
  }

  it('hands two claimers racing at once each paid event once, and no cancellation of an undelivered order', async () => {
    const { paid } = await ordersWithCancellations(20);
    const store = new PgDeliveryStore(database.db);

    const [a, b] = await Promise.all([store.claimDue(100, LEASE_MS), store.claimDue(100, LEASE_MS)]);

    const ids = [...a, ...b].map((delivery) => delivery.eventId);
    expect(ids.sort()).toEqual([...paid].sort());
  });

  it('never hands one event to two claimers, nor a cancellation before its order’s earlier events are delivered', async () => {
    const { paid, cancellations, earlier } = await ordersWithCancellations(15);
    const total = paid.length + cancellations.length;
    const store = new PgDeliveryStore(database.db);
    // An event joins `settling` before its markDelivered starts: one delivered by the time a claim reads the
    // table is in it by the time that claim answers, so an earlier event missing from it was not delivered.
    const settling = new Set<string>();
    const outOfOrder: string[] = [];
    const deadline = Date.now() + 30_000;

    const claimer = async (): Promise<string[]> => {
      const mine: string[] = [];
      while (settling.size < total) {
        if (Date.now() > deadline) throw new Error(`only ${settling.size} of ${total} events delivered in time`);
        const batch = await store.claimDue(4, LEASE_MS);
        for (const { eventId } of batch) {
          mine.push(eventId);
          for (const before of earlier.get(eventId)!)
            if (!settling.has(before)) outOfOrder.push(`${eventId} claimed before ${before} was delivered`);
        }
        if (batch.length === 0) await sleep(2);
        await Promise.all(
          batch.map(async ({ eventId }) => {
            // A send takes a while: the leased, undelivered window another claimer must respect.
            await sleep(Math.random() * 5);
            settling.add(eventId);
            await store.markDelivered(eventId, DELIVERED);
          }),
        );
      }
      return mine;
    };
    const perClaimer = await Promise.all([claimer(), claimer(), claimer(), claimer()]);

    const claimed = perClaimer.flat();
    expect(outOfOrder).toEqual([]);
    expect(claimed).toHaveLength(total);
    expect(new Set(claimed)).toEqual(new Set([...paid, ...cancellations]));
    expect(
      await scalar(
        database.db,
        sql`SELECT count(*)::int AS value FROM data_platform_outbox WHERE status = 'DELIVERED' AND attempts = 1`,
      ),
    ).toBe(total);
  });
});
