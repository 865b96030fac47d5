import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { OutboxRelay } from '../../../src/adapters/data-platform/outbox-relay.js';
import { InMemoryDeliveryStore } from '../../../src/adapters/memory/in-memory-delivery-store.js';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { DeliverDueEvents } from '../../../src/application/data-platform/deliver-due-events.js';
import type { DataPlatformClient } from '../../../src/application/ports/data-platform.js';
import type { DataPlatformEvent } from '../../../src/domain/data-platform/delivery.js';

const LEASE_MS = 30_000;

const paidEvent = (orderId: number): DataPlatformEvent => ({
  type: 'ORDER_PAID',
  body: {
    orderId,
    userId: 7,
    items: [{ productId: 3, name: 'Keyboard', quantity: 1, unitPrice: 9_000, amount: 9_000 }],
    totalAmount: 9_000,
    discountAmount: 0,
    paidAmount: 9_000,
    paidAt: '2026-11-24T03:00:00.000Z',
  },
});

/**
 * A platform that accepts each event after `answerMs`, except the orders told to hang: their send stays open
 * until the test ends it, as the client's timeout would, or lets it through. It counts the sends in flight.
 */
class SlowPlatform implements DataPlatformClient {
  inFlight = 0;
  maxInFlight = 0;
  readonly accepted: number[] = [];
  /** Called as each send starts, before it is answered. */
  onSend: () => void = () => undefined;
  private readonly hanging = new Map<number, { timeOut(): void; answer(): void }>();
  private readonly toHang = new Set<number>();

  constructor(private readonly answerMs = 1) {}

  hang(orderId: number): void {
    this.toHang.add(orderId);
  }

  isHanging(orderId: number): boolean {
    return this.hanging.has(orderId);
  }

  /** Ends a hanging send as the client does when its timeout fires. */
  timeOut(orderId: number): void {
    this.hanging.get(orderId)!.timeOut();
  }

  /** Ends every send still hanging, so that a failed test still stops its relay. */
  timeOutAll(): void {
    for (const send of this.hanging.values()) send.timeOut();
  }

  /** Lets a hanging send through: the platform answers 200 after all. */
  answer(orderId: number): void {
    this.hanging.get(orderId)!.answer();
  }

  async deliver(_eventId: string, { body: event }: DataPlatformEvent): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.onSend();
    try {
      if (this.toHang.delete(event.orderId)) {
        await new Promise<void>((resolve, reject) =>
          this.hanging.set(event.orderId, {
            timeOut: () =>
              reject(new Error('POST http://platform.test/orders timed out: no complete answer within 5000 ms')),
            answer: resolve,
          }),
        );
        this.hanging.delete(event.orderId);
      } else {
        await sleep(this.answerMs);
      }
      this.accepted.push(event.orderId);
    } finally {
      this.inFlight--;
    }
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(5);
  }
}

async function relayWith(orderIds: number[], { batchSize = 5, concurrency = 3, answerMs = 1 } = {}) {
  const clock = new ManualClock('2026-11-24T03:00:00.000Z');
  const store = new InMemoryDeliveryStore(new InMemoryStore(), clock);
  const platform = new SlowPlatform(answerMs);
  for (const orderId of orderIds) await store.add(paidEvent(orderId));
  const deliverDueEvents = new DeliverDueEvents(store, platform, {
    batchSize,
    concurrency,
    leaseMs: LEASE_MS,
    policy: { baseMs: 1_000, capMs: 60_000, maxAttempts: 3 },
    random: () => 0.5,
  });
  const errors: unknown[] = [];
  const relay = new OutboxRelay(deliverDueEvents, {
    pollIntervalMs: 10,
    errorPauseMs: 10,
    onError: (error) => errors.push(error),
  });
  const statusOf = (orderId: number) => store.all().find((delivery) => delivery.orderId === orderId)?.status;
  const delivered = () => store.all().filter((delivery) => delivery.status === 'DELIVERED').length;
  /** Claimed (leased, attempt counted) and not yet recorded: each one is a send started or waiting to start. */
  const claimedUnrecorded = () =>
    store
      .all()
      .filter(
        (delivery) =>
          delivery.status === 'PENDING' && delivery.nextAttemptAt?.getTime() === clock.now().getTime() + LEASE_MS,
      ).length;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await relay.stop();
  };
  cleanups.push(async () => {
    platform.timeOutAll();
    await stop();
  });
  return { clock, store, platform, relay, errors, statusOf, delivered, claimedUnrecorded, stop };
}

describe('the relay with one slow send', () => {
  it('delivers the rest of the outbox while one send hangs until its timeout, then records that one', async () => {
    const orderIds = Array.from({ length: 12 }, (_, i) => i + 1);
    const { clock, store, platform, relay, statusOf, delivered, errors } = await relayWith(orderIds);
    platform.hang(1);

    relay.start();
    await until(() => delivered() === 11, 'the 11 other events delivered while the first one hangs');
    expect(platform.isHanging(1)).toBe(true);
    expect(statusOf(1)).toBe('PENDING');

    // An order paid meanwhile is not held either.
    await store.add(paidEvent(13));
    await until(() => statusOf(13) === 'DELIVERED', 'an event added while the slow send hangs delivered');
    expect(platform.isHanging(1)).toBe(true);

    platform.timeOut(1);
    await until(() => store.all().find((d) => d.orderId === 1)!.lastError !== null, 'the timeout recorded');
    expect(store.all().find((delivery) => delivery.orderId === 1)).toMatchObject({
      status: 'PENDING',
      attempts: 1,
      nextAttemptAt: new Date(clock.now().getTime() + 1_000),
      lastError: expect.stringMatching(/timed out/),
    });
    expect(errors).toEqual([]);
  });

  it('has at most `concurrency` sends in flight, and claims no more than it can send at once', async () => {
    const orderIds = Array.from({ length: 20 }, (_, i) => i + 1);
    const { platform, relay, delivered, claimedUnrecorded } = await relayWith(orderIds, {
      batchSize: 5,
      concurrency: 3,
      answerMs: 15,
    });
    const claimedAtSend: number[] = [];
    platform.onSend = () => claimedAtSend.push(claimedUnrecorded());

    relay.start();
    await until(() => delivered() === 20, 'all 20 delivered');

    expect(platform.maxInFlight).toBe(3);
    expect(Math.max(...claimedAtSend)).toBeLessThanOrEqual(3);
  });

  it('stops only once the sends in flight have finished and their outcomes are recorded', async () => {
    const { platform, relay, statusOf, delivered, stop } = await relayWith([1, 2, 3, 4]);
    platform.hang(1);
    relay.start();
    await until(() => delivered() === 3, 'the 3 other events delivered');

    let stopDone = false;
    const stopping = stop().then(() => (stopDone = true));
    await sleep(50);
    expect(stopDone).toBe(false);

    platform.answer(1);
    await stopping;
    expect(statusOf(1)).toBe('DELIVERED');
    expect(platform.inFlight).toBe(0);
  });

  it('once stopping, claims nothing more while it waits for a free place', async () => {
    const { store, platform, relay, statusOf, stop } = await relayWith([1, 2, 3, 4], { concurrency: 2 });
    platform.hang(1);
    platform.hang(2);
    relay.start();
    await until(() => platform.isHanging(1) && platform.isHanging(2), 'both places taken by hanging sends');

    const stopping = stop();
    platform.answer(1);
    platform.answer(2);
    await stopping;

    expect([statusOf(1), statusOf(2)]).toEqual(['DELIVERED', 'DELIVERED']);
    expect(store.all().filter((delivery) => delivery.orderId > 2)).toMatchObject([
      { status: 'PENDING', attempts: 0 },
      { status: 'PENDING', attempts: 0 },
    ]);
  });

  it('reports an outcome it could not record, and the event stays leased for a later attempt', async () => {
    const { store, platform, relay, statusOf, errors, stop } = await relayWith([1, 2]);
    store.markDelivered = () => Promise.reject(new Error('database down'));

    relay.start();
    await until(() => platform.accepted.length === 2, 'both sent');
    await until(() => errors.length > 0, 'the failure reported');
    await stop();

    expect((errors[0] as Error).message).toBe('database down');
    expect([statusOf(1), statusOf(2)]).toEqual(['PENDING', 'PENDING']);
  });
});
