import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { appDependencies, createContainer } from '../../../src/container.js';
import { Charge, MAX_BALANCE } from '../../../src/domain/balance/balance.js';
import { PgBalanceCharges } from '../../../src/adapters/postgres/pg-balance-repository.js';
import { seed } from '../../support/seed.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase({ poolSize: 20 });

function useCases() {
  return appDependencies(createContainer({ repositories: { kind: 'POSTGRES', db: database.db } }));
}

async function storedBalance(userId: number): Promise<number> {
  return scalar(database.db, sql<{ value: number }>`SELECT amount AS value FROM balances WHERE user_id = ${userId}`);
}

async function ledgerOf(userId: number) {
  return database.db.selectFrom('balance_ledger').selectAll().where('user_id', '=', userId).orderBy('id').execute();
}

describe('charging a balance on PostgreSQL', () => {
  it('lands 200 concurrent charges on one user exactly, over a pool of 20 connections', async () => {
    const s = useCases();
    const { chargeBalance } = s;
    const user = await seed(s).user();

    const results = await Promise.allSettled(
      Array.from({ length: 200 }, () => chargeBalance.execute({ actor: SYSTEM, userId: user.id, amount: 1_000 })),
    );

    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    expect(await storedBalance(user.id)).toBe(200_000);
    const ledger = await ledgerOf(user.id);
    expect(ledger).toHaveLength(200);
    // Serialised by the row lock: in id order, each entry's balance is the previous one plus 1,000.
    expect(ledger.map((entry) => entry.balance_after)).toEqual(Array.from({ length: 200 }, (_, i) => (i + 1) * 1_000));
    const responses = results.map((result) => (result.status === 'fulfilled' ? result.value.balance : -1));
    expect(new Set(responses).size).toBe(200);
  });

  it('never passes the ceiling under concurrent charges near it', async () => {
    const s = useCases();
    const { chargeBalance } = s;
    const user = await seed(s).user();
    for (let i = 0; i < 99; i++) await chargeBalance.execute({ actor: SYSTEM, userId: user.id, amount: 10_000_000 });
    const room = MAX_BALANCE - (await storedBalance(user.id)); // 10,000,000 left

    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => chargeBalance.execute({ actor: SYSTEM, userId: user.id, amount: 3_000_000 })),
    );

    const fulfilled = results.filter((result) => result.status === 'fulfilled');
    const rejected = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(fulfilled).toHaveLength(Math.floor(room / 3_000_000));
    expect(rejected.every((result) => (result.reason as { code?: string }).code === 'BALANCE_LIMIT_EXCEEDED')).toBe(
      true,
    );
    expect(await storedBalance(user.id)).toBe(MAX_BALANCE - room + fulfilled.length * 3_000_000);
    const ledger = await ledgerOf(user.id);
    expect(ledger.at(-1)?.balance_after).toBe(await storedBalance(user.id));
  });

  it('keeps the history newest first and its latest balanceAfter equal to the balance', async () => {
    const s = useCases();
    const { chargeBalance, getBalanceHistory: history } = s;
    const user = await seed(s).user();
    await Promise.all(
      [1, 2, 3, 4, 5].map((amount) => chargeBalance.execute({ actor: SYSTEM, userId: user.id, amount })),
    );

    const page = await history.execute({ actor: SYSTEM, userId: user.id, page: { limit: 3 } });
    const rest = await history.execute({
      actor: SYSTEM,
      userId: user.id,
      page: { limit: 3, after: page.nextAfter! },
    });

    const all = [...page.items, ...rest.items];
    expect(all).toHaveLength(5);
    expect(all.map((entry) => entry.id)).toEqual([...all.map((entry) => entry.id)].sort((a, b) => b - a));
    expect(all[0]?.balanceAfter).toBe(await storedBalance(user.id));
    expect(rest.nextAfter).toBeNull();
  });

  it('rejects an impossible row at the database too', async () => {
    const user = await seed(useCases()).user();
    await expect(
      database.db.updateTable('balances').set({ amount: -1 }).where('user_id', '=', user.id).execute(),
    ).rejects.toThrow(/check constraint/);
    await expect(
      database.db
        .updateTable('balances')
        .set({ amount: MAX_BALANCE + 1 })
        .where('user_id', '=', user.id)
        .execute(),
    ).rejects.toThrow(/check constraint/);
  });
});

describe('a charge against a payment in flight or the ceiling, on PostgreSQL', () => {
  const charges = () => new PgBalanceCharges(database.db);
  const aUserWith = async (amount: number) => {
    const user = await seed(useCases()).user();
    await database.db.updateTable('balances').set({ amount }).where('user_id', '=', user.id).execute();
    return user.id;
  };

  it('waits on a payment in flight and decides on the balance it left', async () => {
    const userId = await aUserWith(MAX_BALANCE);
    let commit = () => undefined as void;
    const committing = new Promise<void>((resolve) => {
      commit = resolve;
    });
    let paid = (_pid: number) => undefined as void;
    const holderPid = new Promise<number>((resolve) => {
      paid = resolve;
    });
    const payment = database.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ pid: number }>`
        UPDATE balances SET amount = amount - 1000 WHERE user_id = ${userId} RETURNING pg_backend_pid() AS pid`.execute(
        trx,
      );
      paid(rows[0]!.pid);
      await committing;
    });
    const pid = await holderPid;

    const outcome = charges().apply(new Charge(userId, 500, new Date()));
    const waiting = sql<{ value: number }>`
      SELECT count(*)::int AS value FROM pg_stat_activity WHERE ${pid}::int = ANY(pg_blocking_pids(pid))`;
    for (let tries = 0; (await scalar(database.db, waiting)) < 1; tries++) {
      if (tries > 500) throw new Error('the charge never waited on the payment');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    commit();
    await payment;

    await expect(outcome).resolves.toMatchObject({ applied: true, change: { balance: { amount: MAX_BALANCE - 500 } } });
    expect(await storedBalance(userId)).toBe(MAX_BALANCE - 500);
    expect((await ledgerOf(userId)).map((entry) => entry.balance_after)).toEqual([MAX_BALANCE - 500]);
  });

  it('refuses with the balance it was refused on when the charge does not fit, and without one for no user', async () => {
    const userId = await aUserWith(MAX_BALANCE - 5);

    await expect(charges().apply(new Charge(userId, 6, new Date()))).resolves.toMatchObject({
      applied: false,
      balance: { userId, amount: MAX_BALANCE - 5 },
    });
    await expect(charges().apply(new Charge(987_654_321, 6, new Date()))).resolves.toEqual({
      applied: false,
      balance: undefined,
    });
    expect(await storedBalance(userId)).toBe(MAX_BALANCE - 5);
    expect(await ledgerOf(userId)).toEqual([]);
  });
});
