import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DeliverDueEvents } from '../../../src/application/data-platform/deliver-due-events.js';
import { ListDeliveries } from '../../../src/application/data-platform/list-deliveries.js';
import { RetryDelivery } from '../../../src/application/data-platform/retry-delivery.js';
import {
  type DataPlatformClient,
  DeliveryFailure,
  type DeliveryReceipt,
} from '../../../src/application/ports/data-platform.js';
import type { DeliveryOutcome } from '../../../src/application/ports/delivery-outcomes.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { LoggingDataPlatformClient } from '../../../src/adapters/data-platform/logging-data-platform-client.js';
import { InMemoryDeliveryStore } from '../../../src/adapters/memory/in-memory-delivery-store.js';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { InMemoryUnitOfWork } from '../../../src/adapters/memory/in-memory-unit-of-work.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import type { DataPlatformEvent } from '../../../src/domain/data-platform/delivery.js';
import type { OrderCancelledEvent, OrderPaidEvent } from '../../../src/domain/order/order.js';
import { systemStamp } from '../../support/seed.js';

const actor = SYSTEM;
const audit = systemStamp('delivery.retry');
const policy = { baseMs: 1_000, capMs: 60_000, maxAttempts: 3 };

const paidEvent = (orderId: number): OrderPaidEvent => ({
  orderId,
  userId: 7,
  items: [{ productId: 3, name: 'Keyboard', quantity: 2, unitPrice: 5_000, amount: 10_000 }],
  totalAmount: 10_000,
  discountAmount: 1_000,
  paidAmount: 9_000,
  paidAt: '2026-11-24T03:00:00.000Z',
});
const paid = (orderId: number): DataPlatformEvent => ({ type: 'ORDER_PAID', body: paidEvent(orderId) });

const cancelledEvent = (orderId: number): OrderCancelledEvent => ({
  orderId,
  userId: 7,
  items: [{ productId: 3, quantity: 1 }],
  refundAmount: 4_500,
  cancelledAt: '2026-11-24T04:00:00.000Z',
});
const cancelled = (orderId: number): DataPlatformEvent => ({ type: 'ORDER_CANCELLED', body: cancelledEvent(orderId) });

/** Which of an order's events: its paid one, or (one of) its cancellations. */
const keyOf = ({ type, body }: DataPlatformEvent) => `${type}:${body.orderId}`;

/** Fails the first `failures` sends of each event it is told to, then accepts; remembers what it accepted. */
class FlakyPlatform implements DataPlatformClient {
  readonly sent: { eventId: string; orderId: number; type: string }[] = [];
  readonly accepted: { eventId: string; event: DataPlatformEvent }[] = [];
  private readonly failuresLeft = new Map<string, number>();

  /** A number is that order's paid event. */
  failFirst(event: number | DataPlatformEvent, failures: number): void {
    this.failuresLeft.set(keyOf(typeof event === 'number' ? paid(event) : event), failures);
  }

  async deliver(eventId: string, event: DataPlatformEvent): Promise<void> {
    this.sent.push({ eventId, orderId: event.body.orderId, type: event.type });
    const left = this.failuresLeft.get(keyOf(event)) ?? 0;
    if (left > 0) {
      this.failuresLeft.set(keyOf(event), left - 1);
      throw new Error(`POST http://platform.test/orders answered 503 (${left} left)`);
    }
    this.accepted.push({ eventId, event });
  }
}

/** The outbox holding `events` in that order (a number is that order's paid event), and a relay on it. */
async function relayWith(events: (number | DataPlatformEvent)[], batchSize = 20) {
  const clock = new ManualClock('2026-11-24T03:00:00.000Z');
  // The store's clock stands in for the database's: the one due times and leases are judged by.
  const rows = new InMemoryStore();
  const store = new InMemoryDeliveryStore(rows, clock);
  const platform = new FlakyPlatform();
  for (const event of events) await store.add(typeof event === 'number' ? paid(event) : event);
  const deliverDueEvents = new DeliverDueEvents(store, platform, {
    batchSize,
    leaseMs: 30_000,
    policy,
    random: () => 0.5,
  });
  const only = () => store.all()[0]!;
  // An operator's retry runs in a unit of work on the same rows, as the container wires it.
  const retry = new RetryDelivery(new InMemoryUnitOfWork(rows, clock), store);
  return { clock, store, platform, deliverDueEvents, only, retry };
}

describe('DeliverDueEvents', () => {
  it('sends a due event with its event id and marks it DELIVERED', async () => {
    const { clock, platform, deliverDueEvents, only } = await relayWith([10]);

    await expect(deliverDueEvents.execute()).resolves.toBe(1);

    expect(platform.accepted).toEqual([{ eventId: only().eventId, event: paid(10) }]);
    expect(only()).toMatchObject({
      status: 'DELIVERED',
      attempts: 1,
      deliveredAt: clock.now(),
      nextAttemptAt: null,
      lastError: null,
    });
    await expect(deliverDueEvents.execute()).resolves.toBe(0);
  });

  it('retries a failing event after 1 s, then 2 s, and delivers it with the same event id', async () => {
    const { clock, platform, deliverDueEvents, only } = await relayWith([10]);
    platform.failFirst(10, 2);
    const start = clock.now().getTime();

    await expect(deliverDueEvents.execute()).resolves.toBe(1);
    expect(only()).toMatchObject({ status: 'PENDING', attempts: 1, nextAttemptAt: new Date(start + 1_000) });
    expect(only().lastError).toMatch(/answered 503/);

    clock.advance(999);
    await expect(deliverDueEvents.execute()).resolves.toBe(0);
    clock.advance(1);
    await expect(deliverDueEvents.execute()).resolves.toBe(1);
    expect(only()).toMatchObject({ status: 'PENDING', attempts: 2, nextAttemptAt: new Date(start + 3_000) });

    clock.advance(2_000);
    await expect(deliverDueEvents.execute()).resolves.toBe(1);
    expect(only()).toMatchObject({ status: 'DELIVERED', attempts: 3, deliveredAt: new Date(start + 3_000) });
    expect(new Set(platform.sent.map((send) => send.eventId))).toEqual(new Set([only().eventId]));
    expect(platform.sent).toHaveLength(3);
  });

  it('parks an event FAILED after maxAttempts, keeping the last error, and sends it no more', async () => {
    const { clock, platform, deliverDueEvents, only } = await relayWith([10]);
    platform.failFirst(10, 100);

    for (let round = 0; round < 3; round++) {
      await expect(deliverDueEvents.execute()).resolves.toBe(1);
      clock.advance(60_000);
    }

    expect(only()).toMatchObject({
      status: 'FAILED',
      attempts: 3,
      nextAttemptAt: null,
      deliveredAt: null,
      lastError: expect.stringMatching(/503 \(98 left\)/),
    });
    clock.advance(3_600_000);
    await expect(deliverDueEvents.execute()).resolves.toBe(0);
    expect(platform.sent).toHaveLength(3);
  });

  it('does not let one failing event hold back the others in its batch', async () => {
    const { platform, store, deliverDueEvents } = await relayWith([10, 11, 12]);
    platform.failFirst(11, 1);

    await expect(deliverDueEvents.execute()).resolves.toBe(3);

    expect(store.all().map((delivery) => `${delivery.orderId}:${delivery.status}`)).toEqual([
      '10:DELIVERED',
      '11:PENDING',
      '12:DELIVERED',
    ]);
  });

  it('claims at most a batch per round and leaves the rest for the next rounds', async () => {
    const { store, deliverDueEvents } = await relayWith([1, 2, 3, 4, 5], 2);

    const handled = [
      await deliverDueEvents.execute(),
      await deliverDueEvents.execute(),
      await deliverDueEvents.execute(),
      await deliverDueEvents.execute(),
    ];

    expect(handled).toEqual([2, 2, 1, 0]);
    expect(store.all().every((delivery) => delivery.status === 'DELIVERED')).toBe(true);
  });

  it('fails the round when the outcome cannot be recorded, after every send has finished', async () => {
    const { store, platform, deliverDueEvents } = await relayWith([10, 11]);
    store.markDelivered = () => Promise.reject(new Error('database down'));

    await expect(deliverDueEvents.execute()).rejects.toThrow('database down');
    expect(platform.accepted.map((sent) => sent.event.body.orderId)).toEqual([10, 11]);
  });
});

describe('DeliverDueEvents with cancellations', () => {
  it('sends a cancellation with its type and body, on its own event id, once its order’s paid event is delivered', async () => {
    const { platform, store, deliverDueEvents } = await relayWith([10, cancelled(10)]);
    const [paidId, cancelledId] = store.all().map((delivery) => delivery.eventId);

    // An order's events go out in the order they happened: the cancellation waits on the paid event.
    expect(store.all().map(({ status, waitingFor }) => ({ status, waitingFor }))).toEqual([
      { status: 'PENDING', waitingFor: null },
      { status: 'PENDING', waitingFor: paidId },
    ]);
    await expect(deliverDueEvents.execute()).resolves.toBe(1);
    expect(store.all().map(({ status, waitingFor }) => ({ status, waitingFor }))).toEqual([
      { status: 'DELIVERED', waitingFor: null },
      { status: 'PENDING', waitingFor: null },
    ]);
    await expect(deliverDueEvents.execute()).resolves.toBe(1);

    expect(store.all().map(({ type, orderId, status }) => ({ type, orderId, status }))).toEqual([
      { type: 'ORDER_PAID', orderId: 10, status: 'DELIVERED' },
      { type: 'ORDER_CANCELLED', orderId: 10, status: 'DELIVERED' },
    ]);
    expect(paidId).not.toBe(cancelledId);
    expect(platform.accepted).toEqual([
      { eventId: paidId, event: paid(10) },
      { eventId: cancelledId, event: cancelled(10) },
    ]);
  });

  it('retries a failing cancellation with backoff and the same event id, once its paid event is delivered', async () => {
    const { clock, platform, store, deliverDueEvents } = await relayWith([10, cancelled(10)]);
    platform.failFirst(cancelled(10), 2);
    const cancellation = () => store.all().find((delivery) => delivery.type === 'ORDER_CANCELLED')!;
    const start = clock.now().getTime();

    await expect(deliverDueEvents.execute()).resolves.toBe(1);
    expect(store.all().map((delivery) => delivery.status)).toEqual(['DELIVERED', 'PENDING']);
    expect(cancellation()).toMatchObject({ attempts: 0, waitingFor: null });
    await expect(deliverDueEvents.execute()).resolves.toBe(1);
    expect(cancellation()).toMatchObject({ status: 'PENDING', attempts: 1, nextAttemptAt: new Date(start + 1_000) });
    expect(cancellation().lastError).toMatch(/answered 503/);

    clock.advance(1_000);
    await expect(deliverDueEvents.execute()).resolves.toBe(1);
    clock.advance(2_000);
    await expect(deliverDueEvents.execute()).resolves.toBe(1);

    expect(cancellation()).toMatchObject({ status: 'DELIVERED', attempts: 3, deliveredAt: new Date(start + 3_000) });
    const cancellationSends = platform.sent.filter((send) => send.type === 'ORDER_CANCELLED');
    expect(cancellationSends.map((send) => send.eventId)).toEqual(Array(3).fill(cancellation().eventId));
    expect(platform.sent.filter((send) => send.type === 'ORDER_PAID')).toHaveLength(1);
  });

  it('parks a cancellation FAILED after maxAttempts, and an operator’s retry delivers it', async () => {
    const { clock, platform, deliverDueEvents, only, retry } = await relayWith([cancelled(10)]);
    platform.failFirst(cancelled(10), 3);

    for (let round = 0; round < 3; round++) {
      await expect(deliverDueEvents.execute()).resolves.toBe(1);
      clock.advance(60_000);
    }
    expect(only()).toMatchObject({ type: 'ORDER_CANCELLED', status: 'FAILED', attempts: 3, nextAttemptAt: null });
    await expect(deliverDueEvents.execute()).resolves.toBe(0);

    await expect(retry.execute({ actor, eventId: only().eventId, audit })).resolves.toMatchObject({
      type: 'ORDER_CANCELLED',
      status: 'PENDING',
      attempts: 0,
    });
    await expect(deliverDueEvents.execute()).resolves.toBe(1);
    expect(only()).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    expect(platform.accepted).toEqual([{ eventId: only().eventId, event: cancelled(10) }]);
  });
});

/**
 * One paid event in the outbox, and a relay whose platform answers each send as `answer` says (a receipt,
 * nothing, or a rejection); the outcomes it records are kept in `recorded`.
 */
async function relayAnswering(answer: () => Promise<DeliveryReceipt | void>) {
  const clock = new ManualClock('2026-11-24T03:00:00.000Z');
  const store = new InMemoryDeliveryStore(new InMemoryStore(), clock);
  await store.add(paid(10));
  const recorded: DeliveryOutcome[] = [];
  const deliverDueEvents = new DeliverDueEvents(
    store,
    { deliver: answer },
    { policy, random: () => 0.5, outcomes: { record: (outcome) => void recorded.push(outcome) } },
  );
  const only = () => store.all()[0]!;
  const attemptsKept = async () => (await store.find(only().eventId))!.attempts;
  return { clock, store, deliverDueEvents, recorded, only, attemptsKept, start: clock.now().getTime() };
}

const refusal = (status: number) => `POST http://platform.test/orders answered ${status}`;

describe('DeliverDueEvents and what the platform answered', () => {
  it('puts the next attempt no sooner than a 429’s Retry-After asks when that outlasts the backoff, and counts the attempt', async () => {
    const { clock, deliverDueEvents, recorded, only, attemptsKept, start } = await relayAnswering(() =>
      Promise.reject(new DeliveryFailure(refusal(429), 429, 3_000)),
    );

    await expect(deliverDueEvents.execute()).resolves.toBe(1);

    // The backoff after a first failure is 1 s; the platform asked for 3 s, and gets them.
    expect(only()).toMatchObject({
      status: 'PENDING',
      attempts: 1,
      lastError: refusal(429),
      nextAttemptAt: new Date(start + 3_000),
    });
    expect(recorded).toEqual(['RETRY_SCHEDULED']);
    await expect(attemptsKept()).resolves.toEqual([
      {
        attemptedAt: expect.any(Date),
        outcome: 'FAILED',
        httpStatus: 429,
        durationMs: expect.any(Number),
        error: refusal(429),
      },
    ]);
    clock.advance(2_999);
    await expect(deliverDueEvents.execute()).resolves.toBe(0);
    clock.advance(1);
    await expect(deliverDueEvents.execute()).resolves.toBe(1);
    // Attempt 2's backoff (2 s) is still shorter than what was asked.
    expect(only()).toMatchObject({ status: 'PENDING', attempts: 2, nextAttemptAt: new Date(start + 6_000) });
    await expect(attemptsKept()).resolves.toMatchObject([{ httpStatus: 429 }, { httpStatus: 429 }]);
  });

  it('caps a Retry-After longer than the backoff cap at the cap', async () => {
    const { clock, deliverDueEvents, only, start } = await relayAnswering(() =>
      Promise.reject(new DeliveryFailure(refusal(429), 429, 3_600_000)),
    );

    await expect(deliverDueEvents.execute()).resolves.toBe(1);

    expect(only()).toMatchObject({ status: 'PENDING', attempts: 1, nextAttemptAt: new Date(start + policy.capMs) });
    clock.advance(policy.capMs - 1);
    await expect(deliverDueEvents.execute()).resolves.toBe(0);
    clock.advance(1);
    await expect(deliverDueEvents.execute()).resolves.toBe(1);
  });

  it('retries a 503 without Retry-After after the plain backoff, keeping its status', async () => {
    const { deliverDueEvents, recorded, only, attemptsKept, start } = await relayAnswering(() =>
      Promise.reject(new DeliveryFailure(refusal(503), 503)),
    );

    await expect(deliverDueEvents.execute()).resolves.toBe(1);

    expect(only()).toMatchObject({ status: 'PENDING', attempts: 1, nextAttemptAt: new Date(start + 1_000) });
    expect(recorded).toEqual(['RETRY_SCHEDULED']);
    await expect(attemptsKept()).resolves.toMatchObject([{ outcome: 'FAILED', httpStatus: 503, error: refusal(503) }]);
  });

  it('keeps no status outside 100 to 599 that a broken server sent, and still schedules the retry', async () => {
    const { deliverDueEvents, recorded, attemptsKept } = await relayAnswering(() =>
      Promise.reject(new DeliveryFailure('answered 799', 799)),
    );

    await expect(deliverDueEvents.execute()).resolves.toBe(1);

    expect(recorded).toEqual(['RETRY_SCHEDULED']);
    await expect(attemptsKept()).resolves.toMatchObject([
      { outcome: 'FAILED', httpStatus: null, error: 'answered 799' },
    ]);
  });

  it('parks an event at maxAttempts however soon the platform asked to be tried again', async () => {
    const { clock, deliverDueEvents, recorded, only } = await relayAnswering(() =>
      Promise.reject(new DeliveryFailure(refusal(429), 429, 1)),
    );

    for (let round = 0; round < policy.maxAttempts; round++) {
      await expect(deliverDueEvents.execute()).resolves.toBe(1);
      clock.advance(policy.capMs);
    }

    expect(only()).toMatchObject({ status: 'FAILED', attempts: 3, nextAttemptAt: null, lastError: refusal(429) });
    expect(recorded).toEqual(['RETRY_SCHEDULED', 'RETRY_SCHEDULED', 'PARKED']);
  });

  it('keeps the receipt’s status as the DELIVERED attempt’s', async () => {
    const { deliverDueEvents, recorded, only, attemptsKept } = await relayAnswering(() =>
      Promise.resolve({ httpStatus: 202 }),
    );

    await expect(deliverDueEvents.execute()).resolves.toBe(1);

    expect(only()).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    expect(recorded).toEqual(['DELIVERED']);
    await expect(attemptsKept()).resolves.toEqual([
      {
        attemptedAt: expect.any(Date),
        outcome: 'DELIVERED',
        httpStatus: 202,
        durationMs: expect.any(Number),
        error: null,
      },
    ]);
  });

  it('keeps no status for an error that is not the platform’s answer, nor for a client that resolves with none', async () => {
    const answers = [() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:9')), () => Promise.resolve()];
    const { deliverDueEvents, clock, attemptsKept } = await relayAnswering(() => answers.shift()!());

    await expect(deliverDueEvents.execute()).resolves.toBe(1);
    clock.advance(1_000);
    await expect(deliverDueEvents.execute()).resolves.toBe(1);

    await expect(attemptsKept()).resolves.toMatchObject([
      { outcome: 'FAILED', httpStatus: null, error: 'connect ECONNREFUSED 127.0.0.1:9' },
      { outcome: 'DELIVERED', httpStatus: null, error: null },
    ]);
  });

  it('measures how long each attempt took, and the store dates it that long before it was recorded', async () => {
    const { clock, deliverDueEvents, attemptsKept } = await relayAnswering(async () => {
      await sleep(40);
      return { httpStatus: 200 };
    });

    await expect(deliverDueEvents.execute()).resolves.toBe(1);

    const [attempt] = await attemptsKept();
    // A timer may fire a millisecond early by the monotonic clock; the bound above is only generous.
    expect(attempt!.durationMs).toBeGreaterThanOrEqual(38);
    expect(attempt!.durationMs).toBeLessThan(10_000);
    expect(attempt!.attemptedAt).toEqual(new Date(clock.now().getTime() - attempt!.durationMs));
  });
});

describe('without a data platform configured', () => {
  it('logs one line per event and counts it delivered, so the outbox drains', async () => {
    const { store } = await relayWith([10, 11]);
    const lines: { message: string; fields: Record<string, unknown> }[] = [];
    const logging = new LoggingDataPlatformClient((message, fields) => lines.push({ message, fields }));

    await expect(new DeliverDueEvents(store, logging).execute()).resolves.toBe(2);

    expect(lines.map((line) => line.fields)).toEqual(
      store
        .all()
        .map((delivery): unknown =>
          expect.objectContaining({ eventId: delivery.eventId, orderId: delivery.orderId, paidAmount: 9_000 }),
        ),
    );
    expect(lines[0]!.message).toMatch(/not configured/);
    expect(lines.map((line) => line.fields.type)).toEqual(['ORDER_PAID', 'ORDER_PAID']);
    expect(store.all().every((delivery) => delivery.status === 'DELIVERED')).toBe(true);
  });
});

describe('without a data platform configured, a cancellation', () => {
  it('is logged with its type and refund, and counted delivered', async () => {
    const { store, only } = await relayWith([cancelled(10)]);
    const lines: Record<string, unknown>[] = [];
    const logging = new LoggingDataPlatformClient((_message, fields) => lines.push(fields));

    await expect(new DeliverDueEvents(store, logging).execute()).resolves.toBe(1);

    expect(lines).toEqual([
      {
        eventId: only().eventId,
        type: 'ORDER_CANCELLED',
        orderId: 10,
        userId: 7,
        refundAmount: 4_500,
        cancelledAt: '2026-11-24T04:00:00.000Z',
      },
    ]);
    expect(only().status).toBe('DELIVERED');
  });
});

describe('RetryDelivery', () => {
  it('makes a parked delivery due now with its attempts reset, and the next round delivers it', async () => {
    const { clock, platform, deliverDueEvents, only, retry } = await relayWith([10]);
    platform.failFirst(10, 3);
    for (let round = 0; round < 3; round++) {
      await deliverDueEvents.execute();
      clock.advance(60_000);
    }
    expect(only().status).toBe('FAILED');

    const reset = await retry.execute({ actor, eventId: only().eventId, audit });

    expect(reset).toMatchObject({
      status: 'PENDING',
      attempts: 0,
      nextAttemptAt: clock.now(),
      lastError: expect.stringMatching(/503/),
    });
    await expect(deliverDueEvents.execute()).resolves.toBe(1);
    expect(only()).toMatchObject({ status: 'DELIVERED', attempts: 1 });
  });

  it('brings a backed-off PENDING delivery forward to now', async () => {
    const { clock, platform, deliverDueEvents, only, retry } = await relayWith([10]);
    platform.failFirst(10, 2);
    await deliverDueEvents.execute();
    await deliverDueEvents.execute();
    expect(only()).toMatchObject({ status: 'PENDING', attempts: 1 });

    await expect(retry.execute({ actor, eventId: only().eventId, audit })).resolves.toMatchObject({
      status: 'PENDING',
      attempts: 0,
      nextAttemptAt: clock.now(),
    });
    await expect(deliverDueEvents.execute()).resolves.toBe(1);
    expect(only()).toMatchObject({ status: 'PENDING', attempts: 1 });
  });

  it('refuses a delivered event with ALREADY_DELIVERED and an unknown one with DELIVERY_NOT_FOUND', async () => {
    const { clock, deliverDueEvents, only, retry } = await relayWith([10]);
    await deliverDueEvents.execute();

    await expect(retry.execute({ actor, eventId: only().eventId, audit })).rejects.toMatchObject({
      code: 'ALREADY_DELIVERED',
      facts: { eventId: only().eventId, deliveredAt: clock.now().toISOString() },
    });
    await expect(
      retry.execute({ actor, eventId: '00000000-0000-4000-8000-000000000000', audit }),
    ).rejects.toMatchObject({
      code: 'DELIVERY_NOT_FOUND',
    });
    expect(only().status).toBe('DELIVERED');
  });

  it('is for admins only', async () => {
    const { only, retry } = await relayWith([10]);
    await expect(
      retry.execute({ actor: { role: 'CUSTOMER', userId: 7 }, eventId: only().eventId, audit }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });
});

describe('ListDeliveries', () => {
  it('lists by outbox id, filtered by status, a page at a time', async () => {
    const { platform, store, deliverDueEvents } = await relayWith([10, 11, 12, 13]);
    platform.failFirst(11, 1);
    platform.failFirst(13, 1);
    await deliverDueEvents.execute();
    const list = new ListDeliveries(store);

    const first = await list.execute({ actor, page: { limit: 3 } });
    expect(first.items.map((delivery) => delivery.orderId)).toEqual([10, 11, 12]);
    expect(first.nextAfter).toBe(first.items[2]!.id);
    const second = await list.execute({ actor, page: { limit: 3, after: first.nextAfter! } });
    expect(second).toMatchObject({ items: [{ orderId: 13 }], nextAfter: null });

    const pending = await list.execute({ actor, status: 'PENDING', page: { limit: 20 } });
    expect(pending.items.map((delivery) => delivery.orderId)).toEqual([11, 13]);
    expect(first.items.map((delivery) => delivery.type)).toEqual(['ORDER_PAID', 'ORDER_PAID', 'ORDER_PAID']);
    await expect(list.execute({ actor: { role: 'CUSTOMER', userId: 1 }, page: { limit: 20 } })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });
});

describe('ListDeliveries of both types', () => {
  it('shows each delivery’s type and filters by type, with status and pages alike', async () => {
    const { platform, deliverDueEvents, store } = await relayWith([10, cancelled(10), 11, cancelled(11), 12]);
    platform.failFirst(cancelled(11), 1);
    // The first round sends the paid events; the cancellations, each waiting on its order's, the second.
    await expect(deliverDueEvents.execute()).resolves.toBe(3);
    await expect(deliverDueEvents.execute()).resolves.toBe(2);
    const list = new ListDeliveries(store);

    const all = await list.execute({ actor, page: { limit: 20 } });
    expect(all.items.map(({ type, orderId }) => `${type}:${orderId}`)).toEqual([
      'ORDER_PAID:10',
      'ORDER_CANCELLED:10',
      'ORDER_PAID:11',
      'ORDER_CANCELLED:11',
      'ORDER_PAID:12',
    ]);
    const cancellations = await list.execute({ actor, type: 'ORDER_CANCELLED', page: { limit: 1 } });
    expect(cancellations.items.map((delivery) => delivery.orderId)).toEqual([10]);
    await expect(
      list.execute({ actor, type: 'ORDER_CANCELLED', page: { limit: 1, after: cancellations.nextAfter! } }),
    ).resolves.toMatchObject({ items: [{ type: 'ORDER_CANCELLED', orderId: 11 }], nextAfter: null });
    await expect(
      list.execute({ actor, type: 'ORDER_CANCELLED', status: 'PENDING', page: { limit: 20 } }),
    ).resolves.toMatchObject({ items: [{ type: 'ORDER_CANCELLED', orderId: 11, attempts: 1 }], nextAfter: null });
    const paidOnes = await list.execute({ actor, type: 'ORDER_PAID', page: { limit: 20 } });
    expect(paidOnes.items.map((delivery) => delivery.orderId)).toEqual([10, 11, 12]);
  });
});
