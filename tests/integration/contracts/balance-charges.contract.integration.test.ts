import { describe, expect, it } from 'vitest';
import type { ChargeOutcome } from '../../../src/application/ports/balance-repository.js';
import { anOpenUnitOfWork } from '../../support/unit-of-work.js';
import { createContainer } from '../../../src/container.js';
import { TOKENS } from '../../../src/container-tokens.js';
import { Balance, Charge, MAX_BALANCE, MAX_CHARGE_AMOUNT } from '../../../src/domain/balance/balance.js';
import { User } from '../../../src/domain/user/user.js';
import type { RepositoriesOption } from '../../../src/container.js';
import { useTestDatabase } from '../../support/test-database.js';

/**
 * The BalanceCharges contract, run over both adapter sets: what the port's doc comments promise, asserted on
 * what the port answers and on what BalanceQueries reads back. Each set is built by the composition root, and
 * seeded through its own unit of work, so the seeding is the same code for both.
 */
const database = useTestDatabase();

const SEEDED_AT = new Date('2026-03-01T00:00:00.000Z');
const AT = new Date('2026-03-04T05:06:07.089Z');
/** An id no user of either store has. */
const NO_SUCH_USER = 999_999_999;

function portsOf(repositories: RepositoriesOption) {
  const c = createContainer({ repositories });
  const uow = c.resolve(TOKENS.UnitOfWork);
  const balances = c.resolve(TOKENS.BalanceQueries);
  return {
    charges: c.resolve(TOKENS.BalanceCharges),
    uow,
    balances,
    /** A user holding `amount`, written through the set's own unit of work. */
    aUserWith: (amount: number) =>
      uow.run(async (repos) => {
        const user = await repos.users.add(User.draft({ name: 'Charged', createdAt: SEEDED_AT }));
        await repos.balances.add(new Balance({ userId: user.id, amount, updatedAt: SEEDED_AT }));
        return user.id;
      }),
    /** The user's ledger, newest first. */
    ledgerOf: async (userId: number) => (await balances.listLedger(userId, { limit: 100 })).items,
  };
}

const adapters = [
  { name: 'PostgreSQL', make: () => portsOf({ kind: 'POSTGRES', db: database.db }) },
  { name: 'in memory', make: () => portsOf({ kind: 'IN_MEMORY' }) },
];

/** What a charge of `amount` landing on `before` answers. */
const landed = (userId: number, before: number, amount: number): ChargeOutcome => ({
  applied: true,
  change: {
    balance: new Balance({ userId, amount: before + amount, updatedAt: AT }),
    entry: { userId, type: 'CHARGE', amount, balanceAfter: before + amount, orderId: null, createdAt: AT },
  },
});

describe.each(adapters)('BalanceCharges on $name', ({ make }) => {
  it('lands the charge on the balance as it is, with its ledger entry, and answers the change', async () => {
    const { charges, balances, aUserWith, ledgerOf } = make();
    const userId = await aUserWith(5_000);

    const outcome = await charges.apply(new Charge(userId, 3_000, AT));

    expect(outcome).toEqual(landed(userId, 5_000, 3_000));
    expect(await balances.findByUserId(userId)).toEqual(new Balance({ userId, amount: 8_000, updatedAt: AT }));
    expect(await ledgerOf(userId)).toEqual([
      {
        id: expect.any(Number),
        userId,
        type: 'CHARGE',
        amount: 3_000,
        balanceAfter: 8_000,
        orderId: null,
        createdAt: AT,
      },
    ]);
  });

  it('lands a charge on a balance of exactly highestBalanceBefore, up to the ceiling', async () => {
    const { charges, balances, aUserWith, ledgerOf } = make();
    const charge = new Charge(await aUserWith(MAX_BALANCE - MAX_CHARGE_AMOUNT), MAX_CHARGE_AMOUNT, AT);

    expect(await charges.apply(charge)).toEqual(landed(charge.userId, charge.highestBalanceBefore, MAX_CHARGE_AMOUNT));
    expect((await balances.findByUserId(charge.userId))?.amount).toBe(MAX_BALANCE);
    expect(await ledgerOf(charge.userId)).toHaveLength(1);
  });

  it('refuses a charge above highestBalanceBefore, answering the balance as stored and writing nothing', async () => {
    const { charges, balances, aUserWith, ledgerOf } = make();
    const userId = await aUserWith(MAX_BALANCE - 2_999);

    const outcome = await charges.apply(new Charge(userId, 3_000, AT));

    const unchanged = new Balance({ userId, amount: MAX_BALANCE - 2_999, updatedAt: SEEDED_AT });
    expect(outcome).toEqual({ applied: false, balance: unchanged });
    expect(await balances.findByUserId(userId)).toEqual(unchanged);
    expect(await ledgerOf(userId)).toEqual([]);
  });

  it('refuses a charge for no such user, with no balance, and writes nothing', async () => {
    const { charges, balances, ledgerOf } = make();

    expect(await charges.apply(new Charge(NO_SUCH_USER, 3_000, AT))).toEqual({
      applied: false,
      balance: undefined,
    });
    expect(await balances.findByUserId(NO_SUCH_USER)).toBeUndefined();
    expect(await ledgerOf(NO_SUCH_USER)).toEqual([]);
  });

  it('joins the unit of work it is called in: undone with it, committed with it', async () => {
    const { charges, uow, balances, aUserWith, ledgerOf } = make();
    const userId = await aUserWith(1_000);

    await expect(
      uow.run(async () => {
        expect(await charges.apply(new Charge(userId, 500, AT))).toEqual(landed(userId, 1_000, 500));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect((await balances.findByUserId(userId))?.amount).toBe(1_000);
    expect(await ledgerOf(userId)).toEqual([]);

    expect(await uow.run(() => charges.apply(new Charge(userId, 700, AT)))).toEqual(landed(userId, 1_000, 700));
    expect((await balances.findByUserId(userId))?.amount).toBe(1_700);
    expect(await ledgerOf(userId)).toHaveLength(1);
  });

  it('commits by itself outside a unit of work: a concurrent unit of work rolled back does not undo it', async () => {
    const { charges, uow, balances, aUserWith, ledgerOf } = make();
    const userId = await aUserWith(1_000);
    const open = await anOpenUnitOfWork(uow);

    const outcome = charges.apply(new Charge(userId, 500, AT));

    await expect(open.rollBack()).rejects.toThrow('rolled back');
    expect(await outcome).toEqual(landed(userId, 1_000, 500));
    expect((await balances.findByUserId(userId))?.amount).toBe(1_500);
    expect(await ledgerOf(userId)).toHaveLength(1);
  });

  it('loses no update under 50 concurrent charges on one user', async () => {
    const { charges, balances, aUserWith, ledgerOf } = make();
    const userId = await aUserWith(0);

    const outcomes = await Promise.all(Array.from({ length: 50 }, () => charges.apply(new Charge(userId, 1_000, AT))));

    const steps = Array.from({ length: 50 }, (_, i) => (i + 1) * 1_000);
    expect(outcomes.every((outcome) => outcome.applied)).toBe(true);
    const answered = outcomes.map((outcome) => (outcome.applied ? outcome.change.balance.amount : -1));
    expect(answered.sort((a, b) => a - b)).toEqual(steps);
    expect((await balances.findByUserId(userId))?.amount).toBe(50_000);
    const ledger = await ledgerOf(userId);
    expect(ledger.map((entry) => entry.balanceAfter).sort((a, b) => a - b)).toEqual(steps);
  });

  it('lands exactly the concurrent charges that fit under the ceiling, refusing the rest above it', async () => {
    const { charges, balances, aUserWith, ledgerOf } = make();
    const userId = await aUserWith(MAX_BALANCE - 3 * MAX_CHARGE_AMOUNT);

    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => charges.apply(new Charge(userId, MAX_CHARGE_AMOUNT, AT))),
    );

    expect(outcomes.filter((outcome) => outcome.applied)).toHaveLength(3);
    for (const outcome of outcomes) {
      if (!outcome.applied) expect(outcome.balance?.amount).toBeGreaterThan(MAX_BALANCE - MAX_CHARGE_AMOUNT);
    }
    expect((await balances.findByUserId(userId))?.amount).toBe(MAX_BALANCE);
    expect(await ledgerOf(userId)).toHaveLength(3);
  });
});
