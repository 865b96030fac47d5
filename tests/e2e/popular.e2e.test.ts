import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/adapters/memory/manual-clock.js';
import { type ProductView, aChargedUser, aProduct, anOrder, anUpdatedProduct } from '../support/builders.js';
import { expectProblem, useTestApp } from '../support/test-app.js';

const clock = new ManualClock('2026-11-24T03:00:00.000Z');
// The clock moves by months here; the tokens outlive the moves (a token's own lifetime is not what these test).
const t = useTestApp({ clock, auth: { accessTokenTtlS: 366 * 86_400 } });

/** The answer cached by GetPopularProducts is kept 2 s: move past it before a read that must see changes. */
const CACHE_TTL_MS = 2_000;

interface PopularBody {
  from: string;
  to: string;
  items: { rank: number; productId: number; name: string; price: number; stock: number; soldQuantity: number }[];
}

const getPopular = () => t.app.inject({ method: 'GET', url: '/api/v1/products/popular' });

async function popular(): Promise<PopularBody> {
  const response = await getPopular();
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  return response.json<PopularBody>();
}

const newBuyer = async () => (await aChargedUser(t.api, 10_000_000, { name: 'Popular buyer' })).id;

/** The buyer orders for themselves. */
async function buy(userId: number, ...lines: [productId: number, quantity: number][]): Promise<void> {
  await anOrder(await t.as(userId), { userId, items: lines.map(([productId, quantity]) => ({ productId, quantity })) });
}

// Every test works on days of its own, at least a week apart, so no test's sales fall in another's window.
describe('GET /api/v1/products/popular', () => {
  it('answers 200 with the KST window and no items when nothing sold in it', async () => {
    clock.set('2027-01-15T03:00:00.000Z'); // 12:00 KST, 2027-01-15
    expect(await popular()).toEqual({ from: '2027-01-12T15:00:00.000Z', to: '2027-01-15T15:00:00.000Z', items: [] });
  });

  it('answers { from, to, items } with the top 5 by units, ties to the lower id, from 00:00 KST two days ago', async () => {
    const userId = await newBuyer();
    const names = ['Tea', 'Cup', 'Pot', 'Tray', 'Spoon', 'Kettle', 'Filter'];
    const products: ProductView[] = [];
    for (const [i, name] of names.entries())
      products.push(await aProduct(t.api, { name, price: 1_000 * (i + 1), stock: 100 }));
    const [tea, cup, pot, tray, spoon, kettle, filter] = products as [
      ProductView,
      ProductView,
      ProductView,
      ProductView,
      ProductView,
      ProductView,
      ProductView,
    ];

    clock.set('2026-11-28T14:59:59.999Z'); // 23:59:59.999 KST on 2026-11-28: before the window
    await buy(userId, [filter.id, 50]);
    clock.set('2026-11-28T15:00:00.000Z'); // 00:00 KST on 2026-11-29: its first instant
    await buy(userId, [kettle.id, 2], [tray.id, 4]);
    clock.set('2026-11-30T09:00:00.000Z');
    await buy(userId, [spoon.id, 4], [tea.id, 1]);
    clock.set('2026-12-01T03:00:00.000Z'); // 12:00 KST on 2026-12-01: today
    await buy(userId, [pot.id, 7]);
    await buy(userId, [cup.id, 3], [tea.id, 1]);

    const body = await popular();
    expect(body).toEqual({
      from: '2026-11-28T15:00:00.000Z',
      to: '2026-12-01T15:00:00.000Z',
      items: [
        { rank: 1, productId: pot.id, name: 'Pot', price: 3_000, stock: 93, soldQuantity: 7 },
        { rank: 2, productId: tray.id, name: 'Tray', price: 4_000, stock: 96, soldQuantity: 4 },
        { rank: 3, productId: spoon.id, name: 'Spoon', price: 5_000, stock: 96, soldQuantity: 4 },
        { rank: 4, productId: cup.id, name: 'Cup', price: 2_000, stock: 97, soldQuantity: 3 },
        { rank: 5, productId: tea.id, name: 'Tea', price: 1_000, stock: 98, soldQuantity: 2 },
      ],
    });
    expect(new Date(body.from).toISOString()).toBe(body.from);
    expect(new Date(body.to).getTime() - new Date(body.from).getTime()).toBe(72 * 3_600_000);
  });

  it('shows each product as it is now: stock after the sales, price after a PATCH', async () => {
    clock.set('2026-12-10T03:00:00.000Z');
    const userId = await newBuyer();
    const lamp = await aProduct(t.api, { name: 'Lamp', price: 20_000, stock: 10 });
    await buy(userId, [lamp.id, 3]);

    expect((await popular()).items).toEqual([
      { rank: 1, productId: lamp.id, name: 'Lamp', price: 20_000, stock: 7, soldQuantity: 3 },
    ]);

    clock.advance(CACHE_TTL_MS);
    await anUpdatedProduct(t.api, lamp.id, { price: 18_500, stockDelta: 5 });
    await buy(userId, [lamp.id, 2]);
    clock.advance(CACHE_TTL_MS);

    expect((await popular()).items).toEqual([
      { rank: 1, productId: lamp.id, name: 'Lamp', price: 18_500, stock: 10, soldQuantity: 5 },
    ]);
  });

  it('may lag a new order for under 2 s of the shop clock, then shows it', async () => {
    clock.set('2026-12-20T03:00:00.000Z');
    const userId = await newBuyer();
    const desk = await aProduct(t.api, { name: 'Desk', price: 90_000, stock: 5 });
    const chair = await aProduct(t.api, { name: 'Chair', price: 40_000, stock: 5 });
    await buy(userId, [desk.id, 1]);
    const before = await popular();
    expect(before.items.map((item) => [item.productId, item.soldQuantity])).toEqual([[desk.id, 1]]);

    await buy(userId, [chair.id, 2]);
    clock.advance(CACHE_TTL_MS - 1);
    expect((await popular()).items.map((item) => [item.productId, item.soldQuantity])).toEqual([[desk.id, 1]]);
    clock.advance(1);
    expect((await popular()).items.map((item) => [item.productId, item.soldQuantity])).toEqual([
      [chair.id, 2],
      [desk.id, 1],
    ]);
  });

  it('moves its window at 00:00 KST and drops the day that left it', async () => {
    clock.set('2027-02-01T03:00:00.000Z'); // 2027-02-01 KST
    const userId = await newBuyer();
    const early = await aProduct(t.api, { name: 'Early', price: 1_000, stock: 50 });
    const late = await aProduct(t.api, { name: 'Late', price: 1_000, stock: 50 });
    await buy(userId, [early.id, 5]);
    clock.set('2027-02-03T03:00:00.000Z'); // 2027-02-03 KST
    await buy(userId, [late.id, 1]);

    clock.set('2027-02-03T14:59:59.999Z');
    expect(await popular()).toMatchObject({
      from: '2027-01-31T15:00:00.000Z',
      to: '2027-02-03T15:00:00.000Z',
      items: [
        { productId: early.id, soldQuantity: 5 },
        { productId: late.id, soldQuantity: 1 },
      ],
    });
    clock.advance(1); // 00:00 KST on 2027-02-04
    expect(await popular()).toEqual({
      from: '2027-02-01T15:00:00.000Z',
      to: '2027-02-04T15:00:00.000Z',
      items: [{ rank: 1, productId: late.id, name: 'Late', price: 1_000, stock: 49, soldQuantity: 1 }],
    });
  });

  it('is not taken for a product id: no 400, while real ids still route to GET /products/{productId}', async () => {
    clock.set('2027-03-01T03:00:00.000Z');
    expect((await getPopular()).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/products/popular/' })).statusCode).toBe(200);
    const vase = await aProduct(t.api, { name: 'Vase', price: 3_000, stock: 1 });
    const byId = await t.app.inject({ method: 'GET', url: `/api/v1/products/${vase.id}` });
    expect(byId.statusCode).toBe(200);
    expect(byId.json()).toEqual(vase);
    expectProblem(await t.app.inject({ method: 'GET', url: '/api/v1/products/popularity' }), 400, 'INVALID_REQUEST');
  });

  it('is published in the OpenAPI document with its response shape', async () => {
    const spec = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(spec.statusCode).toBe(200);
    const document = spec.json<{ paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> }>();
    const operation = document.paths['/api/v1/products/popular']?.get;
    expect(operation).toBeDefined();
    expect(operation!.responses?.['200']).toMatchObject({
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: expect.arrayContaining(['from', 'to', 'items']),
            properties: {
              from: expect.objectContaining({ type: 'string' }),
              to: expect.objectContaining({ type: 'string' }),
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  required: expect.arrayContaining(['rank', 'productId', 'name', 'price', 'stock', 'soldQuantity']),
                },
              },
            },
          },
        },
      },
    });
    expect(document.paths['/api/v1/products/{productId}']?.get).toBeDefined();
  });
});
