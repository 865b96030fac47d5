import { describe, expect, it } from 'vitest';
import { type Actor, SYSTEM } from '../../../src/application/shared/actor.js';
import { type AuditAction, type AuditStamp, changed } from '../../../src/domain/audit/audit-entry.js';
import { inMemoryShop } from '../../support/in-memory.js';
import { seed } from '../../support/seed.js';

const START = '2026-11-24T03:00:00.000Z';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const admin: Actor = { role: 'ADMIN', userId: 41 };
const stamp = (action: AuditAction, requestId = `req-${action}`): AuditStamp => ({ action, requestId, traceId: TRACE });

/** A shop whose log and adjustments the tests read straight from the in-memory tables. */
function shop() {
  const s = inMemoryShop(START);
  return { ...s, log: () => s.store.state.auditLog, adjustments: () => s.store.state.stockAdjustments };
}

describe('admin actions write their audit entry', () => {
  it('a user: who, what, which row, its fields after, the request and trace, by the clock standing in for now()', async () => {
    const s = shop();
    const user = await s.createUser.execute({ actor: admin, name: 'Ana', audit: stamp('user.create') });

    expect(s.log()).toEqual([
      {
        id: 1,
        at: new Date(START),
        actorId: 41,
        action: 'user.create',
        target: { type: 'user', id: user.id },
        before: null,
        after: { name: 'Ana', createdAt: START },
        requestId: 'req-user.create',
        traceId: TRACE,
      },
    ]);
  });

  it('a product, with its initial stock naming the entry; the system acts with no actor id', async () => {
    const s = shop();
    const product = await s.createProduct.execute({
      actor: SYSTEM,
      name: 'Mug',
      price: 12_000,
      stock: 5,
      audit: stamp('product.create', 'seed-1'),
    });

    expect(s.log()).toMatchObject([
      {
        actorId: null,
        action: 'product.create',
        target: { type: 'product', id: product.id },
        before: null,
        after: { name: 'Mug', price: 12_000, stock: 5 },
        requestId: 'seed-1',
      },
    ]);
    expect(s.adjustments()).toEqual([
      { productId: product.id, delta: 5, reason: 'INITIAL', at: new Date(START), auditEntryId: s.log()[0]!.id },
    ]);
  });

  it('a product update: only what changed, before and after, and the restock naming the entry', async () => {
    const s = shop();
    const product = await seed(s).product({ price: 12_000, stock: 5 });
    const update = (changes: { price?: number; stockDelta?: number }) =>
      s.updateProduct.execute({ actor: admin, productId: product.id, ...changes, audit: stamp('product.update') });

    await update({ price: 9_900, stockDelta: 3 });
    await update({ price: 9_900 });
    await update({ price: 12_000, stockDelta: 0 });

    const updates = s.log().filter((entry) => entry.action === 'product.update');
    expect(updates.map(({ before, after }) => ({ before, after }))).toEqual([
      { before: { price: 12_000, stock: 5 }, after: { price: 9_900, stock: 8 } },
      { before: {}, after: {} },
      { before: { price: 9_900 }, after: { price: 12_000 } },
    ]);
    expect(s.adjustments().map(({ reason, delta, auditEntryId }) => ({ reason, delta, auditEntryId }))).toEqual([
      { reason: 'INITIAL', delta: 5, auditEntryId: s.log()[0]!.id },
      { reason: 'ADJUSTMENT', delta: 3, auditEntryId: updates[0]!.id },
    ]);
  });

  it('a coupon campaign, its window as ISO instants', async () => {
    const s = shop();
    const coupon = await s.createCoupon.execute({
      actor: admin,
      name: 'Launch',
      discountType: 'PERCENT',
      discountValue: 15,
      totalQuantity: 100,
      validDays: 7,
      issueStartsAt: new Date('2026-12-01T00:00:00.000Z'),
      issueEndsAt: null,
      audit: stamp('coupon.create'),
    });

    expect(s.log()).toMatchObject([
      {
        action: 'coupon.create',
        target: { type: 'coupon', id: coupon.id },
        before: null,
        after: {
          name: 'Launch',
          discountType: 'PERCENT',
          discountValue: 15,
          totalQuantity: 100,
          validDays: 7,
          issueStartsAt: '2026-12-01T00:00:00.000Z',
          issueEndsAt: null,
        },
      },
    ]);
  });

  it("a delivery's retry and redelivery: its status and schedule as the step found and left them", async () => {
    const s = shop();
    const made = seed(s);
    const user = await made.chargedUser(10_000);
    const product = await made.product({ price: 1_000 });
    await made.order(user.id, [{ productId: product.id, quantity: 1 }]);
    const row = s.store.state.outbox[0]!;
    row.delivery = { ...row.delivery, status: 'FAILED', attempts: 10, nextAttemptAt: null, lastError: 'down' };
    const { eventId } = row.delivery;
    s.clock.advance(60_000);

    await s.retryDelivery.execute({ actor: admin, eventId, audit: stamp('delivery.retry') });
    s.clock.advance(1_000);
    await s.redeliverEvent.execute({ actor: admin, eventId, audit: stamp('delivery.redeliver') });

    const retried = new Date(Date.parse(START) + 60_000).toISOString();
    const redelivered = new Date(Date.parse(START) + 61_000).toISOString();
    expect(s.log().slice(-2)).toMatchObject([
      {
        action: 'delivery.retry',
        target: { type: 'delivery', id: eventId },
        before: { status: 'FAILED', attempts: 10, nextAttemptAt: null },
        after: { status: 'PENDING', attempts: 0, nextAttemptAt: retried },
      },
      {
        action: 'delivery.redeliver',
        target: { type: 'delivery', id: eventId },
        before: { nextAttemptAt: retried },
        after: { nextAttemptAt: redelivered },
      },
    ]);
  });
});

describe('an admin action that fails writes no entry', () => {
  it('a correction that would take stock below zero: no entry, no adjustment, the price as it was', async () => {
    const s = shop();
    const product = await seed(s).product({ price: 12_000, stock: 5 });
    const entries = s.log().length;

    await expect(
      s.updateProduct.execute({
        actor: admin,
        productId: product.id,
        price: 1,
        stockDelta: -6,
        audit: stamp('product.update'),
      }),
    ).rejects.toMatchObject({ code: 'INSUFFICIENT_STOCK' });

    expect(s.log()).toHaveLength(entries);
    expect(s.adjustments()).toHaveLength(1);
    await expect(s.getProduct.execute({ productId: product.id })).resolves.toMatchObject({ price: 12_000, stock: 5 });
  });

  it('a retry of a delivered event, a step on an unknown one, a bad name, a customer', async () => {
    const s = shop();
    const made = seed(s);
    const user = await made.chargedUser(10_000);
    await made.order(user.id, [{ productId: (await made.product()).id, quantity: 1 }]);
    const row = s.store.state.outbox[0]!;
    row.delivery = { ...row.delivery, status: 'DELIVERED', attempts: 1, nextAttemptAt: null, deliveredAt: new Date() };
    const entries = s.log().length;

    const { eventId } = row.delivery;
    await expect(
      s.retryDelivery.execute({ actor: admin, eventId, audit: stamp('delivery.retry') }),
    ).rejects.toMatchObject({ code: 'ALREADY_DELIVERED' });
    await expect(
      s.redeliverEvent.execute({
        actor: admin,
        eventId: '00000000-0000-4000-8000-000000000000',
        audit: stamp('delivery.redeliver'),
      }),
    ).rejects.toMatchObject({ code: 'DELIVERY_NOT_FOUND' });
    await expect(s.createUser.execute({ actor: admin, name: ' ', audit: stamp('user.create') })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(
      s.createUser.execute({ actor: { role: 'CUSTOMER', userId: 7 }, name: 'Ana', audit: stamp('user.create') }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });

    expect(s.log()).toHaveLength(entries);
    expect(row.delivery.status).toBe('DELIVERED');
  });

  it('a request stamped with another action than the use case’s: refused before anything is written', async () => {
    const s = shop();
    await expect(s.createUser.execute({ actor: admin, name: 'Ana', audit: stamp('coupon.create') })).rejects.toThrow(
      /user\.create was stamped as coupon\.create/,
    );
    expect(s.log()).toEqual([]);
    expect(s.store.state.users.size).toBe(0);
  });
});

describe('ListAuditLog', () => {
  it('pages newest first and filters by actor and by action, for administrators only', async () => {
    const s = shop();
    const other: Actor = { role: 'ADMIN', userId: 42 };
    for (const [actor, name] of [
      [admin, 'a'],
      [other, 'b'],
      [admin, 'c'],
    ] as const)
      await s.createUser.execute({ actor, name, audit: stamp('user.create') });
    await s.createProduct.execute({ actor: other, name: 'd', price: 1, stock: 1, audit: stamp('product.create') });

    const first = await s.listAuditLog.execute({ actor: admin, page: { limit: 3 } });
    const second = await s.listAuditLog.execute({ actor: admin, page: { limit: 3, after: first.nextAfter! } });
    expect([...first.items, ...second.items].map((entry) => entry.id)).toEqual([4, 3, 2, 1]);
    expect(second.nextAfter).toBeNull();

    const byOther = await s.listAuditLog.execute({ actor: admin, actorId: 42, page: { limit: 10 } });
    expect(byOther.items.map((entry) => entry.after?.name)).toEqual(['d', 'b']);
    const usersByOther = await s.listAuditLog.execute({
      actor: admin,
      actorId: 42,
      action: 'user.create',
      page: { limit: 10 },
    });
    expect(usersByOther.items.map((entry) => entry.after?.name)).toEqual(['b']);

    await expect(
      s.listAuditLog.execute({ actor: { role: 'CUSTOMER', userId: 7 }, page: { limit: 10 } }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('changed', () => {
  it('keeps only the fields whose value differs, on both sides', () => {
    expect(changed({ price: 1, stock: 2, status: null }, { price: 1, stock: 3, status: 'PENDING' })).toEqual({
      before: { stock: 2, status: null },
      after: { stock: 3, status: 'PENDING' },
    });
    expect(changed({ price: 1 }, { price: 1 })).toEqual({ before: {}, after: {} });
  });
});
