import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { inMemoryShop } from '../../support/in-memory.js';
import { seed } from '../../support/seed.js';

const actor = SYSTEM;

describe('the composition root in memory', () => {
  it('lists for delivery the paid order the unit of work wrote to the outbox', async () => {
    const shop = inMemoryShop();
    const make = seed(shop);
    const user = await make.chargedUser(10_000);
    const mug = await make.product({ price: 1_000 });
    const order = await make.order(user.id, [{ productId: mug.id, quantity: 1 }]);

    const { items } = await shop.listDeliveries.execute({ actor, page: { limit: 10 } });
    expect(items).toEqual([expect.objectContaining({ orderId: order.id, status: 'PENDING' })]);
  });

  it('is ready without a database', async () => {
    await expect(inMemoryShop().isReady()).resolves.toBe(true);
  });
});
