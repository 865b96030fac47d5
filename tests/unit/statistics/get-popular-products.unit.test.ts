import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { MAX_POPULAR_STALENESS_MS } from '../../../src/domain/statistics/popular-products.js';
import { inMemoryShop } from '../../support/in-memory.js';
import { seed } from '../../support/seed.js';

const actor = SYSTEM;
/** 12:00 KST on 2026-11-24: the window is 2026-11-22..24 KST, 2026-11-21T15:00Z up to 2026-11-24T15:00Z. */
const NOW = '2026-11-24T03:00:00.000Z';

/** A shop with one rich buyer and products priced and stocked as given; `buy` places one order. */
async function shopWithProducts(products: { price?: number; stock?: number }[], start = NOW) {
  const shop = inMemoryShop(start);
  const buyer = await seed(shop).chargedUser(10_000_000);
  const ids: number[] = [];
  for (const [i, { price = 100, stock = 1_000 }] of products.entries()) {
    ids.push((await seed(shop).product({ name: `product ${i}`, price, stock })).id);
  }
  const buy = (...lines: [productId: number, quantity: number][]) =>
    shop.placeOrder.execute({
      actor,
      userId: buyer.id,
      items: lines.map(([productId, quantity]) => ({ productId, quantity })),
    });
  /** The ranking as [productId, soldQuantity] pairs, in rank order. */
  const ranking = async () =>
    (await shop.getPopularProducts.execute()).items.map(({ product, soldQuantity }) => [product.id, soldQuantity]);
  return { shop, ids, buy, ranking };
}

const many = (count: number) => Array.from({ length: count }, () => ({}));

describe('GetPopularProducts: the ranking', () => {
  it('ranks by units sold, not by number of orders or revenue', async () => {
    const { ids, buy, ranking } = await shopWithProducts([{ price: 100 }, { price: 1_000 }, { price: 10_000 }]);
    const [cheap, middle, dear] = ids as [number, number, number];
    await buy([cheap, 5]); // 1 order, 5 units, 500 KRW
    await buy([middle, 1]);
    await buy([middle, 1]);
    await buy([middle, 1]); // 3 orders, 3 units, 3,000 KRW
    await buy([dear, 4]); // 1 order, 4 units, 40,000 KRW

    expect(await ranking()).toEqual([
      [cheap, 5],
      [dear, 4],
      [middle, 3],
    ]);
  });

  it('counts every line of a multi-line order and adds up orders', async () => {
    const { ids, buy, ranking } = await shopWithProducts(many(3));
    const [a, b, c] = ids as [number, number, number];
    await buy([a, 2], [b, 3], [c, 1]);
    await buy([c, 7], [a, 1]);

    expect(await ranking()).toEqual([
      [c, 8],
      [a, 3],
      [b, 3],
    ]);
  });

  it('ranks ties with the lower product id first, whatever the order of the sales', async () => {
    const { ids, buy, ranking } = await shopWithProducts(many(4));
    const [p1, p2, p3, p4] = ids as [number, number, number, number];
    await buy([p4, 2]);
    await buy([p3, 2]);
    await buy([p2, 5]);
    await buy([p1, 2]);

    expect(await ranking()).toEqual([
      [p2, 5],
      [p1, 2],
      [p3, 2],
      [p4, 2],
    ]);
  });

  it('numbers the ranks from 1 and gives the products with their sold quantities', async () => {
    const { shop, ids, buy } = await shopWithProducts([
      { price: 1_500, stock: 10 },
      { price: 700, stock: 20 },
    ]);
    const [a, b] = ids as [number, number];
    await buy([a, 3]);
    await buy([b, 1]);

    const { items } = await shop.getPopularProducts.execute();
    expect(items.map(({ rank, product, soldQuantity }) => ({ rank, product: { ...product }, soldQuantity }))).toEqual([
      { rank: 1, product: { id: a, name: 'product 0', price: 1_500, stock: 7 }, soldQuantity: 3 },
      { rank: 2, product: { id: b, name: 'product 1', price: 700, stock: 19 }, soldQuantity: 1 },
    ]);
  });

  it('gives at most 5 products', async () => {
    const { ids, buy, ranking } = await shopWithProducts(many(7));
    for (const [i, id] of ids.entries()) await buy([id, i + 1]); // product i sold i + 1 units

    const top = await ranking();
    expect(top).toHaveLength(5);
    expect(top).toEqual(
      [...ids]
        .reverse()
        .slice(0, 5)
        .map((id) => [id, ids.indexOf(id) + 1]),
    );
  });

  it('gives fewer than 5 when fewer products sold', async () => {
    const { ids, buy, ranking } = await shopWithProducts(many(6));
    await buy([ids[4]!, 1]);
    await buy([ids[1]!, 1]);

    expect(await ranking()).toEqual([
      [ids[1], 1],
      [ids[4], 1],
    ]);
  });

  it('gives no items when nothing sold', async () => {
    const { shop } = await shopWithProducts(many(3));
    const popular = await shop.getPopularProducts.execute();
    expect(popular.items).toEqual([]);
    expect(popular.window).toEqual({
      firstDay: '2026-11-22',
      lastDay: '2026-11-24',
      from: new Date('2026-11-21T15:00:00.000Z'),
      to: new Date('2026-11-24T15:00:00.000Z'),
    });
  });

  it('counts nothing for a refused order', async () => {
    const { ids, buy, ranking } = await shopWithProducts([{ stock: 2 }, { stock: 100 }]);
    const [scarce, plenty] = ids as [number, number];
    await expect(buy([plenty, 1], [scarce, 3])).rejects.toMatchObject({ code: 'INSUFFICIENT_STOCK' });
    await expect(buy([plenty, 1], [987_654, 1])).rejects.toMatchObject({ code: 'PRODUCT_NOT_FOUND' });
    expect(await ranking()).toEqual([]);
  });
});

describe('GetPopularProducts: the window', () => {
  it('counts a sale from 00:00:00.000 KST on the first day, not one a millisecond earlier, and one today', async () => {
    const { shop, ids, buy, ranking } = await shopWithProducts(many(3));
    const [early, first, today] = ids as [number, number, number];
    shop.clock.set('2026-11-21T14:59:59.999Z'); // 23:59:59.999 KST on 2026-11-21, the day before the first
    await buy([early, 9]);
    shop.clock.set('2026-11-21T15:00:00.000Z'); // 00:00:00.000 KST on 2026-11-22, the first day
    await buy([first, 2]);
    shop.clock.set('2026-11-24T14:59:59.999Z'); // the last instant of today, 2026-11-24 KST
    await buy([today, 1]);

    shop.clock.set(NOW);
    expect(await ranking()).toEqual([
      [first, 2],
      [today, 1],
    ]);
  });

  it('drops the oldest day exactly when the clock crosses 00:00 KST, even inside the cache TTL', async () => {
    const { shop, ids, buy, ranking } = await shopWithProducts(many(2));
    const [old, recent] = ids as [number, number];
    shop.clock.set('2026-11-22T03:00:00.000Z'); // 2026-11-22 KST
    await buy([old, 5]);
    shop.clock.set('2026-11-24T03:00:00.000Z'); // 2026-11-24 KST
    await buy([recent, 1]);

    shop.clock.set('2026-11-24T14:59:59.999Z'); // still 2026-11-24 KST: 22..24 counted
    expect(await ranking()).toEqual([
      [old, 5],
      [recent, 1],
    ]);
    shop.clock.advance(1); // 00:00 KST on 2026-11-25: 23..25 counted, whatever was cached a moment ago
    const popular = await shop.getPopularProducts.execute();
    expect(popular.window).toMatchObject({
      firstDay: '2026-11-23',
      lastDay: '2026-11-25',
      from: new Date('2026-11-22T15:00:00.000Z'),
    });
    expect(popular.items.map(({ product, soldQuantity }) => [product.id, soldQuantity])).toEqual([[recent, 1]]);

    shop.clock.set('2026-11-26T15:00:00.000Z'); // 2026-11-27 KST: nothing left
    expect(await ranking()).toEqual([]);
  });
});

describe('GetPopularProducts: the cache', () => {
  it('keeps an answer for 2 s: unchanged after 1,999 ms, updated at 2,000 ms', async () => {
    const { shop, ids, buy, ranking } = await shopWithProducts(many(2));
    const [a, b] = ids as [number, number];
    await buy([a, 1]);
    expect(await ranking()).toEqual([[a, 1]]);

    await buy([b, 3]);
    expect(await ranking()).toEqual([[a, 1]]);
    shop.clock.advance(1_999);
    expect(await ranking()).toEqual([[a, 1]]);
    shop.clock.advance(1);
    expect(await ranking()).toEqual([
      [b, 3],
      [a, 1],
    ]);
  });

  it('never answers with sales older than 5 s left out, however the reads and orders interleave', async () => {
    const { shop, ids, buy } = await shopWithProducts(many(1));
    const [a] = ids as [number];
    const placedAt: number[] = [];
    for (let step = 0; step < 40; step++) {
      await buy([a, 1]);
      placedAt.push(shop.clock.now().getTime());
      const now = shop.clock.now().getTime();
      const sold = (await shop.getPopularProducts.execute()).items[0]?.soldQuantity ?? 0;
      const committedBefore = (lag: number) => placedAt.filter((t) => t <= now - lag).length;
      expect(sold).toBeGreaterThanOrEqual(committedBefore(MAX_POPULAR_STALENESS_MS));
      expect(sold).toBeGreaterThanOrEqual(committedBefore(2_000));
      expect(sold).toBeLessThanOrEqual(placedAt.length);
      shop.clock.advance(300 + ((step * 457) % 900));
    }
  });
});
