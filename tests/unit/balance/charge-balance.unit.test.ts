import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { MAX_BALANCE } from '../../../src/domain/balance/balance.js';
import { inMemoryShop } from '../../support/in-memory.js';

describe('ChargeBalance', () => {
  it('raises the balance and appends one ledger entry', async () => {
    const shop = inMemoryShop();
    const user = await shop.createUser.execute({ actor: SYSTEM, name: 'Ana' });
    shop.clock.advance(1_000);

    const result = await shop.chargeBalance.execute({ actor: SYSTEM, userId: user.id, amount: 5_000 });

    expect(result).toEqual({ userId: user.id, balance: 5_000, charged: 5_000 });
    const balance = await shop.getBalance.execute({ actor: SYSTEM, userId: user.id });
    expect(balance.amount).toBe(5_000);
    expect(balance.updatedAt).toEqual(shop.clock.now());
    expect(shop.store.state.ledger).toEqual([
      expect.objectContaining({ userId: user.id, type: 'CHARGE', amount: 5_000, balanceAfter: 5_000 }),
    ]);
  });

  it('fails with USER_NOT_FOUND for an unknown user and writes nothing', async () => {
    const shop = inMemoryShop();
    await expect(shop.chargeBalance.execute({ actor: SYSTEM, userId: 404, amount: 1 })).rejects.toMatchObject({
      code: 'USER_NOT_FOUND',
    });
    expect(shop.store.state.ledger).toHaveLength(0);
  });

  it('leaves balance and ledger untouched when the ceiling would be passed', async () => {
    const shop = inMemoryShop();
    const user = await shop.createUser.execute({ actor: SYSTEM, name: 'Ana' });
    for (let i = 0; i < 100; i++)
      await shop.chargeBalance.execute({ actor: SYSTEM, userId: user.id, amount: 10_000_000 });

    await expect(shop.chargeBalance.execute({ actor: SYSTEM, userId: user.id, amount: 1 })).rejects.toMatchObject({
      code: 'BALANCE_LIMIT_EXCEEDED',
    });
    expect((await shop.getBalance.execute({ actor: SYSTEM, userId: user.id })).amount).toBe(MAX_BALANCE);
    expect(shop.store.state.ledger).toHaveLength(100);
  });

  it('refuses a user acting for another user', async () => {
    const shop = inMemoryShop();
    const user = await shop.createUser.execute({ actor: SYSTEM, name: 'Ana' });
    await expect(
      shop.chargeBalance.execute({ actor: { role: 'CUSTOMER', userId: user.id + 1 }, userId: user.id, amount: 1 }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('serialises concurrent charges on one user', async () => {
    const shop = inMemoryShop();
    const user = await shop.createUser.execute({ actor: SYSTEM, name: 'Ana' });
    await Promise.all(
      Array.from({ length: 50 }, () => shop.chargeBalance.execute({ actor: SYSTEM, userId: user.id, amount: 10 })),
    );
    expect((await shop.getBalance.execute({ actor: SYSTEM, userId: user.id })).amount).toBe(500);
    expect(shop.store.state.ledger.map((entry) => entry.balanceAfter)).toEqual(
      Array.from({ length: 50 }, (_, i) => (i + 1) * 10),
    );
  });
});
