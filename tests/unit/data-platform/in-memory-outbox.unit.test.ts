import { describe, expect, it } from 'vitest';
import { ChargeBalance } from '../../../src/application/balance/charge-balance.js';
import { DeliverDueEvents } from '../../../src/application/data-platform/deliver-due-events.js';
import { InMemoryCheckoutSteps } from '../../../src/adapters/memory/in-memory-checkout-repository.js';
import { PlaceOrder } from '../../../src/application/order/place-order.js';
import type { DataPlatformClient } from '../../../src/application/ports/data-platform.js';
import { CreateProduct } from '../../../src/application/product/create-product.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { CreateUser } from '../../../src/application/user/create-user.js';
import { InMemoryBalanceCharges } from '../../../src/adapters/memory/in-memory-balance-repository.js';
import { InMemoryDeliveryStore } from '../../../src/adapters/memory/in-memory-delivery-store.js';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { InMemoryUnitOfWork } from '../../../src/adapters/memory/in-memory-unit-of-work.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import type { DataPlatformEvent } from '../../../src/domain/data-platform/delivery.js';
import type { OrderCancelledEvent, OrderPaidEvent } from '../../../src/domain/order/order.js';
import { systemStamp } from '../../support/seed.js';

const actor = SYSTEM;
/** An attempt as the relay reports it: a 200 in 5 ms. */
const DELIVERED_REPORT = { httpStatus: 200, durationMs: 5, error: null };

/** Orders placed through the in-memory unit of work, and a delivery store on the same store. */
async function shop({ balance }: { balance: number }) {
  const store = new InMemoryStore();
  const clock = new ManualClock('2026-11-24T03:00:00.000Z');
  // One clock for the unit of work and the delivery store: it stands in for the database's now().
  const uow = new InMemoryUnitOfWork(store, clock);
  const user = await new CreateUser(uow, clock).execute({ actor, name: 'buyer', audit: systemStamp('user.create') });
  await new ChargeBalance(new InMemoryBalanceCharges(store, uow), clock).execute({
    actor,
    userId: user.id,
    amount: balance,
  });
  const mug = await new CreateProduct(uow, clock).execute({
    actor,
    name: 'Mug',
    price: 12_000,
    stock: 5,
    audit: systemStamp('product.create'),
  });
  const sent: { eventId: string; event: DataPlatformEvent }[] = [];
  const platform: DataPlatformClient = {
    deliver: async (eventId, event) => {
      sent.push({ eventId, event });
    },
  };
  const deliveries = new InMemoryDeliveryStore(store, clock);
  return {
    deliveries,
    sent,
    placeOrder: (quantity: number) =>
      new PlaceOrder(uow, new InMemoryCheckoutSteps(uow), clock, 'Asia/Seoul').execute({
        actor,
        userId: user.id,
        items: [{ productId: mug.id, quantity }],
      }),
    deliverDueEvents: new DeliverDueEvents(deliveries, platform),
  };
}

describe('the in-memory outbox', () => {
  it('delivers the event of an order placed through the unit of work', async () => {
    const s = await shop({ balance: 50_000 });
    const order = await s.placeOrder(2);

    await expect(s.deliverDueEvents.execute()).resolves.toBe(1);

    const [delivery] = s.deliveries.all();
    expect(s.deliveries.all()).toHaveLength(1);
    expect(delivery).toMatchObject({ orderId: order.id, status: 'DELIVERED', attempts: 1 });
    expect(delivery!.type).toBe('ORDER_PAID');
    expect(s.sent).toEqual([{ eventId: delivery!.eventId, event: { type: 'ORDER_PAID', body: order.paidEvent() } }]);
  });

  it('keeps what was delivered through a later order that rolls back, and sends each event once', async () => {
    const s = await shop({ balance: 30_000 });
    const first = await s.placeOrder(1);
    await expect(s.deliverDueEvents.execute()).resolves.toBe(1);

    await expect(s.placeOrder(2)).rejects.toThrow();
    const second = await s.placeOrder(1);
    await expect(s.deliverDueEvents.execute()).resolves.toBe(1);

    expect(s.deliveries.all().map(({ orderId, status }) => ({ orderId, status }))).toEqual([
      { orderId: first.id, status: 'DELIVERED' },
      { orderId: second.id, status: 'DELIVERED' },
    ]);
    expect(s.sent.map(({ event }) => event.body.orderId)).toEqual([first.id, second.id]);
  });
});

const paidBody = (orderId: number): OrderPaidEvent => ({
  orderId,
  userId: 7,
  items: [{ productId: 3, name: 'Mug', quantity: 2, unitPrice: 12_000, amount: 24_000 }],
  totalAmount: 24_000,
  discountAmount: 0,
  paidAmount: 24_000,
  paidAt: '2026-11-24T03:00:00.000Z',
});
const cancelledBody = (orderId: number): OrderCancelledEvent => ({
  orderId,
  userId: 7,
  items: [{ productId: 3, quantity: 1 }],
  refundAmount: 12_000,
  cancelledAt: '2026-11-24T04:00:00.000Z',
});

describe('the in-memory outbox table', () => {
  it('keeps each event’s type and cancellation, as separate deliveries of one order', async () => {
    const store = new InMemoryStore();
    const deliveries = new InMemoryDeliveryStore(store, new ManualClock('2026-11-24T03:00:00.000Z'));

    await deliveries.add({ type: 'ORDER_PAID', body: paidBody(10) });
    await deliveries.add({ type: 'ORDER_CANCELLED', body: cancelledBody(10) }, 1);
    await deliveries.add({ type: 'ORDER_CANCELLED', body: cancelledBody(10) }, 2);

    expect(store.state.outbox.map(({ event, cancellationId }) => [event.type, cancellationId])).toEqual([
      ['ORDER_PAID', null],
      ['ORDER_CANCELLED', 1],
      ['ORDER_CANCELLED', 2],
    ]);
    expect(deliveries.all().map(({ type, orderId, status }) => ({ type, orderId, status }))).toEqual([
      { type: 'ORDER_PAID', orderId: 10, status: 'PENDING' },
      { type: 'ORDER_CANCELLED', orderId: 10, status: 'PENDING' },
      { type: 'ORDER_CANCELLED', orderId: 10, status: 'PENDING' },
    ]);
    expect(new Set(deliveries.all().map((delivery) => delivery.eventId)).size).toBe(3);
    // Each is handed out on its own, in the order written: the next only once the one before is delivered.
    const claimedInTurn: { eventId: string; event: DataPlatformEvent }[][] = [];
    for (let round = 0; round < 3; round++) {
      const claimed = await deliveries.claimDue(10, 30_000);
      claimedInTurn.push(claimed.map(({ eventId, event }) => ({ eventId, event })));
      for (const { eventId } of claimed) await deliveries.markDelivered(eventId, DELIVERED_REPORT);
    }
    const [paidId, firstId, secondId] = store.state.outbox.map((row) => row.delivery.eventId);
    expect(claimedInTurn).toEqual([
      [{ eventId: paidId, event: { type: 'ORDER_PAID', body: paidBody(10) } }],
      [{ eventId: firstId, event: { type: 'ORDER_CANCELLED', body: cancelledBody(10) } }],
      [{ eventId: secondId, event: { type: 'ORDER_CANCELLED', body: cancelledBody(10) } }],
    ]);
    await expect(deliveries.claimDue(10, 30_000)).resolves.toEqual([]);
  });

  it('refuses what the table refuses: a second ORDER_PAID of an order, one cancellation twice', async () => {
    const deliveries = new InMemoryDeliveryStore();
    await deliveries.add({ type: 'ORDER_PAID', body: paidBody(10) });
    await deliveries.add({ type: 'ORDER_CANCELLED', body: cancelledBody(10) }, 1);

    await expect(deliveries.add({ type: 'ORDER_PAID', body: paidBody(10) })).rejects.toThrow(
      /ORDER_PAID event already/,
    );
    await expect(deliveries.add({ type: 'ORDER_CANCELLED', body: cancelledBody(10) }, 1)).rejects.toThrow(
      /Cancellation 1 has its event already/,
    );
    await expect(deliveries.add({ type: 'ORDER_PAID', body: paidBody(11) }, 2)).rejects.toThrow(
      /names no cancellation/,
    );
    expect(deliveries.all()).toHaveLength(2);
  });
});
