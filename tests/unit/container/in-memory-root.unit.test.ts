import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { inMemoryShop } from '../../support/in-memory.js';

const actor = SYSTEM;

describe('the composition root in memory', () => {
  it('lists for delivery the paid order the unit of work wrote to the outbox', async () => {
    const shop = inMemoryShop();
    const user = await shop.createUser.execute({ actor, name: 'buyer' });
    await shop.chargeBalance.execute({ actor, userId: user.id, amount: 10_000 });
    const mug = await shop.createProduct.execute({ actor, name: 'Mug', price: 1_000, stock: 1 });
    const order = await shop.placeOrder.execute({
      actor,
      userId: user.id,
      items: [{ productId: mug.id, quantity: 1 }],
    });

    const { items } = await shop.listDeliveries.execute({ actor, page: { limit: 10 } });
    expect(items).toEqual([expect.objectContaining({ orderId: order.id, status: 'PENDING' })]);
  });

  it('is ready without a database', async () => {
    await expect(inMemoryShop().isReady()).resolves.toBe(true);
  });
});
