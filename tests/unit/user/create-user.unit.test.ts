import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { InvalidInputError } from '../../../src/domain/shared/domain-error.js';
import { inMemoryShop } from '../../support/in-memory.js';
import { systemStamp } from '../../support/seed.js';

const audit = systemStamp('user.create');

describe('CreateUser', () => {
  it('creates a user with a zero balance dated at its creation', async () => {
    const shop = inMemoryShop('2026-11-24T07:00:00.000Z');
    const user = await shop.createUser.execute({ actor: SYSTEM, name: '  Ana  ', audit });

    expect(user).toEqual({
      id: 1,
      name: 'Ana',
      role: 'CUSTOMER',
      email: null,
      createdAt: new Date('2026-11-24T07:00:00.000Z'),
    });
    const balance = await shop.getBalance.execute({ actor: SYSTEM, userId: user.id });
    expect({ amount: balance.amount, updatedAt: balance.updatedAt }).toEqual({ amount: 0, updatedAt: user.createdAt });
  });

  it.each(['', '   ', 'x'.repeat(101)])('rejects the name %j', async (name) => {
    const shop = inMemoryShop();
    await expect(shop.createUser.execute({ actor: SYSTEM, name, audit })).rejects.toThrow(InvalidInputError);
    expect(shop.store.state.users.size).toBe(0);
  });

  it('is for admins only once users authenticate', async () => {
    const shop = inMemoryShop();
    await expect(
      shop.createUser.execute({ actor: { role: 'CUSTOMER', userId: 1 }, name: 'Ana', audit }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(
      shop.createUser.execute({ actor: { role: 'ADMIN', userId: 1 }, name: 'Ana', audit }),
    ).resolves.toMatchObject({
      name: 'Ana',
    });
  });
});
