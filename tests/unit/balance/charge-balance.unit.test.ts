import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { ChargeBalance } from '../../../src/application/balance/charge-balance.js';
import type { BalanceCharges, ChargeOutcome } from '../../../src/application/ports/balance-repository.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { Balance, MAX_BALANCE } from '../../../src/domain/balance/balance.js';
import { inMemoryShop } from '../../support/in-memory.js';
import { seed } from '../../support/seed.js';

describe('ChargeBalance', () => {
  it('raises the balance and appends one ledger entry', async () => {
    const shop = inMemoryShop();
    const user = await seed(shop).user();
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
    const user = await seed(shop).user();
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
    const user = await seed(shop).user();
    await expect(
      shop.chargeBalance.execute({ actor: { role: 'CUSTOMER', userId: user.id + 1 }, userId: user.id, amount: 1 }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('serialises concurrent charges on one user', async () => {
    const shop = inMemoryShop();
    const user = await seed(shop).user();
    await Promise.all(
      Array.from({ length: 50 }, () => shop.chargeBalance.execute({ actor: SYSTEM, userId: user.id, amount: 10 })),
    );
    expect((await shop.getBalance.execute({ actor: SYSTEM, userId: user.id })).amount).toBe(500);
    expect(shop.store.state.ledger.map((entry) => entry.balanceAfter)).toEqual(
      Array.from({ length: 50 }, (_, i) => (i + 1) * 10),
    );
  });
});

describe('ChargeBalance when the store refuses', () => {
  /** A store that refuses every charge with `balance`, counting its calls. */
  const refusingOn = (balance: Balance | undefined): BalanceCharges & { calls: number } => {
    const fake = {
      calls: 0,
      async apply(): Promise<ChargeOutcome> {
        fake.calls++;
        return { applied: false, balance };
      },
    };
    return fake;
  };
  const at = new Date('2026-11-24T07:00:00.000Z');
  const clock = new ManualClock(at.toISOString());
  const balanceOf = (amount: number) => new Balance({ userId: 7, amount, updatedAt: at });

  it('answers BALANCE_LIMIT_EXCEEDED with the balance the refusal carries, asking once', async () => {
    const charges = refusingOn(balanceOf(MAX_BALANCE - 10));
    await expect(
      new ChargeBalance(charges, clock).execute({ actor: SYSTEM, userId: 7, amount: 11 }),
    ).rejects.toMatchObject({
      code: 'BALANCE_LIMIT_EXCEEDED',
      facts: { userId: 7, balance: MAX_BALANCE - 10, amount: 11, limit: MAX_BALANCE },
    });
    expect(charges.calls).toBe(1);
  });

  it('answers USER_NOT_FOUND when there was no balance to land on', async () => {
    await expect(
      new ChargeBalance(refusingOn(undefined), clock).execute({ actor: SYSTEM, userId: 7, amount: 11 }),
    ).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
  });

  it('fails as a defect, not as the ceiling, when a store refuses on a balance with room for the charge', async () => {
    const failure = new ChargeBalance(refusingOn(balanceOf(MAX_BALANCE - 11)), clock).execute({
      actor: SYSTEM,
      userId: 7,
      amount: 11,
    });
    await expect(failure).rejects.toThrow('which has room for it');
    await expect(failure).rejects.not.toHaveProperty('code');
  });
});
