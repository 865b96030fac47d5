import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { inMemoryShop } from '../../support/in-memory.js';
import { seed } from '../../support/seed.js';

describe('GetBalanceHistory', () => {
  it('lists entries newest first and pages through all of them once', async () => {
    const shop = inMemoryShop();
    const user = await seed(shop).user();
    for (let amount = 1; amount <= 5; amount++)
      await shop.chargeBalance.execute({ actor: SYSTEM, userId: user.id, amount });

    const first = await shop.getBalanceHistory.execute({ actor: SYSTEM, userId: user.id, page: { limit: 2 } });
    expect(first.items.map((entry) => entry.amount)).toEqual([5, 4]);
    expect(first.nextAfter).not.toBeNull();

    const second = await shop.getBalanceHistory.execute({
      actor: SYSTEM,
      userId: user.id,
      page: { limit: 2, after: first.nextAfter! },
    });
    const third = await shop.getBalanceHistory.execute({
      actor: SYSTEM,
      userId: user.id,
      page: { limit: 2, after: second.nextAfter! },
    });
    expect(second.items.map((entry) => entry.amount)).toEqual([3, 2]);
    expect(third.items.map((entry) => entry.amount)).toEqual([1]);
    expect(third.nextAfter).toBeNull();
  });

  it('gives an empty history for a new user and 404 for an unknown one', async () => {
    const shop = inMemoryShop();
    const user = await seed(shop).user();
    await expect(
      shop.getBalanceHistory.execute({ actor: SYSTEM, userId: user.id, page: { limit: 20 } }),
    ).resolves.toEqual({ items: [], nextAfter: null });
    await expect(
      shop.getBalanceHistory.execute({ actor: SYSTEM, userId: 999, page: { limit: 20 } }),
    ).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
  });
});
