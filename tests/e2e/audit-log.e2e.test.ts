import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  type AuditEntryView,
  type Page,
  aChargedUser,
  aCoupon,
  aProduct,
  aUser,
  anOrder,
  auditLogOf,
  productBody,
} from '../support/builders.js';
import { BAD_CURSORS, BAD_LIMITS, bearer, expectProblem, useTestApp } from '../support/test-app.js';
import { scalar } from '../support/test-database.js';

const t = useTestApp();

const entriesInTheTable = () => scalar(t.database.db, sql`SELECT count(*)::int AS value FROM audit_log`);

const send = (method: 'POST' | 'PATCH', url: string, payload?: object, headers: Record<string, string> = {}) =>
  t.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: { ...bearer(t.adminToken), ...headers },
    ...(payload === undefined ? {} : { payload }),
  });

const getLog = async (query: string, token = t.adminToken) =>
  t.app.inject({ method: 'GET', url: `/api/v1/admin/audit-log?${query}`, headers: bearer(token) });

/** An administrator besides the file's own, for the actor filter. */
async function anotherAdmin(): Promise<{ id: number; token: string }> {
  const { id } = await aUser(t.api, { name: 'Second admin' });
  await t.database.db.updateTable('users').set({ role: 'ADMIN' }).where('id', '=', id).execute();
  return { id, token: await t.tokenFor(id, 'ADMIN') };
}

describe('GET /admin/audit-log', () => {
  it("records each admin action with who, what, which row, the change, the database's instant and the request", async () => {
    const from = new Date();
    const created = await send('POST', '/admin/products', productBody({ name: 'Kettle', price: 1_000, stock: 10 }), {
      'x-request-id': 'audit-e2e-create',
    });
    expect(created.statusCode, created.body).toBe(201);
    const productId = created.json<{ id: number }>().id;
    const updated = await send('PATCH', `/admin/products/${productId}`, { price: 1_500, stockDelta: 5 });
    expect(updated.statusCode, updated.body).toBe(200);
    const priceOnly = await send('PATCH', `/admin/products/${productId}`, { price: 1_500, stockDelta: -2 });
    expect(priceOnly.statusCode, priceOnly.body).toBe(200);

    const { items } = await auditLogOf(t.api, 'action=product.create&limit=1');
    const [second, first] = (await auditLogOf(t.api, 'action=product.update&limit=2')).items;
    const to = new Date();

    expect(items[0]).toEqual({
      id: expect.any(Number),
      at: expect.any(String),
      actorId: t.adminId,
      action: 'product.create',
      target: { type: 'product', id: productId },
      before: null,
      after: { name: 'Kettle', price: 1_000, stock: 10 },
      requestId: 'audit-e2e-create',
      traceId: null,
    });
    expect(first).toMatchObject({
      actorId: t.adminId,
      target: { type: 'product', id: productId },
      before: { price: 1_000, stock: 10 },
      after: { price: 1_500, stock: 15 },
      requestId: updated.headers['x-request-id'],
    });
    // The price given is the price it had: only the stock changed, so only the stock is shown.
    expect(second).toMatchObject({
      before: { stock: 15 },
      after: { stock: 13 },
      requestId: priceOnly.headers['x-request-id'],
    });
    for (const entry of [items[0]!, first!, second!]) {
      expect(new Date(entry.at).getTime()).toBeGreaterThanOrEqual(from.getTime() - 1_000);
      expect(new Date(entry.at).getTime()).toBeLessThanOrEqual(to.getTime() + 1_000);
    }
    expect(second!.id).toBeGreaterThan(first!.id);
  });

  it('records a redelivery as the delivery was and is, and a refused retry not at all', async () => {
    const user = await aChargedUser(t.api, 10_000);
    const product = await aProduct(t.api, { price: 1_000, stock: 5 });
    const order = await anOrder(t.api, { userId: user.id, items: [{ productId: product.id, quantity: 1 }] });
    const { event_id: eventId, delivered_at: deliveredAt } = await t.database.db
      .updateTable('data_platform_outbox')
      .set({ status: 'DELIVERED', attempts: 1, delivered_at: new Date('2026-11-24T07:00:00.000Z') })
      .where('order_id', '=', order.orderId)
      .returning(['event_id', 'delivered_at'])
      .executeTakeFirstOrThrow();
    const before = await entriesInTheTable();

    const retried = await send('POST', `/admin/data-platform/deliveries/${eventId}/retry`);
    expectProblem(retried, 409, 'ALREADY_DELIVERED');
    expect(await entriesInTheTable()).toBe(before);

    const redelivered = await send('POST', `/admin/data-platform/deliveries/${eventId}/redeliver`);
    expect(redelivered.statusCode, redelivered.body).toBe(202);
    const [entry] = (await auditLogOf(t.api, 'limit=1')).items;
    expect(entry).toMatchObject({
      action: 'delivery.redeliver',
      actorId: t.adminId,
      target: { type: 'delivery', id: eventId },
      before: { status: 'DELIVERED', attempts: 1, nextAttemptAt: null, deliveredAt: deliveredAt!.toISOString() },
      after: {
        status: 'PENDING',
        attempts: 0,
        nextAttemptAt: redelivered.json<{ nextAttemptAt: string }>().nextAttemptAt,
        deliveredAt: null,
      },
      requestId: redelivered.headers['x-request-id'],
    });
  });

  it('pages newest first, each entry once, with the cursor it gives', async () => {
    for (let i = 0; i < 5; i++) await aCoupon(t.api, { name: `Paged ${i}` });
    const total = await scalar(
      t.database.db,
      sql`SELECT count(*)::int AS value FROM audit_log WHERE action = 'coupon.create'`,
    );

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<AuditEntryView> = await auditLogOf(
        t.api,
        `action=coupon.create&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      if (page.nextCursor !== null) expect(page.items).toHaveLength(2);
      seen.push(...page.items.map((entry) => entry.id));
      cursor = page.nextCursor;
    } while (cursor);

    expect(seen.length).toBe(total);
    expect(total).toBeGreaterThanOrEqual(5);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('filters by the admin who acted and by action, both at once too', async () => {
    const second = await anotherAdmin();
    const asSecond = { app: t.app, token: second.token };
    const coupon = await aCoupon(asSecond, { name: 'By the second admin' });
    await aProduct(t.api);

    const theirs = (await auditLogOf(t.api, `actorId=${second.id}`)).items;
    expect(theirs.map((entry) => [entry.action, entry.target])).toEqual([
      ['coupon.create', { type: 'coupon', id: coupon.id }],
    ]);
    expect((await auditLogOf(t.api, `actorId=${second.id}&action=product.create`)).items).toEqual([]);
    const products = (await auditLogOf(t.api, 'action=product.create&limit=100')).items;
    expect(products.length).toBeGreaterThan(0);
    expect(products.every((entry) => entry.action === 'product.create' && entry.actorId === t.adminId)).toBe(true);
    const mine = (await auditLogOf(t.api, `actorId=${t.adminId}&limit=100`)).items;
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.some((entry) => entry.actorId !== t.adminId)).toBe(false);
  });

  it('writes no entry for an action that fails', async () => {
    const product = await aProduct(t.api, { stock: 3 });
    const before = await entriesInTheTable();

    expectProblem(
      await send('PATCH', `/admin/products/${product.id}`, { price: 9_999, stockDelta: -4 }),
      409,
      'INSUFFICIENT_STOCK',
    );
    expectProblem(await send('PATCH', '/admin/products/987654321', { stockDelta: 1 }), 404, 'PRODUCT_NOT_FOUND');
    expectProblem(await send('POST', '/admin/users', { name: '' }), 400, 'INVALID_REQUEST');
    expectProblem(
      await send('POST', '/admin/data-platform/deliveries/00000000-0000-4000-8000-000000000000/redeliver'),
      404,
      'DELIVERY_NOT_FOUND',
    );

    expect(await entriesInTheTable()).toBe(before);
  });

  it('is for administrators: 403 FORBIDDEN for a customer, 401 without a token', async () => {
    const customer = await aUser(t.api, { name: 'Curious customer' });
    expectProblem(await getLog('', await t.tokenFor(customer.id)), 403, 'FORBIDDEN');
    expectProblem(await t.app.inject({ method: 'GET', url: '/api/v1/admin/audit-log' }), 401, 'UNAUTHENTICATED');
  });

  it.each([
    ...['abc', '0', '-1', '1.5', '', '9007199254740992'].map((value) => [`actorId=${value}`, 'actorId'] as const),
    ...['product.delete', 'PRODUCT.UPDATE', 'product', ''].map((value) => [`action=${value}`, 'action'] as const),
    ...BAD_LIMITS.map((value) => [`limit=${value}`, 'limit'] as const),
    ...BAD_CURSORS.map(([, cursor]) => [`cursor=${encodeURIComponent(cursor)}`, 'cursor'] as const),
  ])('refuses %s with 400 INVALID_REQUEST on that field', async (query, field) => {
    const body = expectProblem(await getLog(query), 400, 'INVALID_REQUEST');
    expect(body.errors).toContainEqual(expect.objectContaining({ path: field }));
  });
});
