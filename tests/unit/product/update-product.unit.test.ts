import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { inMemoryShop } from '../../support/in-memory.js';
import { seed, systemStamp } from '../../support/seed.js';

const actor = SYSTEM;
const audit = systemStamp('product.update');

describe('UpdateProduct', () => {
  it('changes price and stock together and records the stock change', async () => {
    const shop = inMemoryShop();
    const product = await seed(shop).product({ price: 12_000, stock: 5 });

    const updated = await shop.updateProduct.execute({
      actor,
      productId: product.id,
      price: 9_900,
      stockDelta: 10,
      audit,
    });

    expect(updated).toMatchObject({ price: 9_900, stock: 15 });
    expect(await shop.getProduct.execute({ productId: product.id })).toMatchObject({ price: 9_900, stock: 15 });
    expect(shop.store.state.stockAdjustments.map(({ delta, reason }) => ({ delta, reason }))).toEqual([
      { delta: 5, reason: 'INITIAL' },
      { delta: 10, reason: 'ADJUSTMENT' },
    ]);
  });

  it('rolls back a price change when the stock correction is refused', async () => {
    const shop = inMemoryShop();
    const product = await seed(shop).product({ price: 12_000, stock: 5 });

    await expect(
      shop.updateProduct.execute({ actor, productId: product.id, price: 1, stockDelta: -6, audit }),
    ).rejects.toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      facts: { productId: product.id, requested: 6, available: 5 },
    });
    expect(await shop.getProduct.execute({ productId: product.id })).toMatchObject({ price: 12_000, stock: 5 });
    expect(shop.store.state.stockAdjustments).toHaveLength(1);
  });

  it('needs something to change and a product that exists', async () => {
    const shop = inMemoryShop();
    await expect(shop.updateProduct.execute({ actor, productId: 1, audit })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(shop.updateProduct.execute({ actor, productId: 1, price: 5, audit })).rejects.toMatchObject({
      code: 'PRODUCT_NOT_FOUND',
    });
  });

  it('lists products by id, a page at a time', async () => {
    const shop = inMemoryShop();
    for (const name of ['a', 'b', 'c']) await seed(shop).product({ name });
    const first = await shop.listProducts.execute({ page: { limit: 2 } });
    const second = await shop.listProducts.execute({ page: { limit: 2, after: first.nextAfter! } });
    expect([...first.items, ...second.items].map((product) => product.name)).toEqual(['a', 'b', 'c']);
    expect(second.nextAfter).toBeNull();
  });
});
