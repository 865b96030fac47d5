import type { BalanceCharges, BalanceRepository, ChargeOutcome } from '../../application/ports/balance-repository.js';
import { Balance, type Charge, type LedgerEntry } from '../../domain/balance/balance.js';
import type { BalanceLedgerTable, BalancesTable, Db } from './database.js';
import { readerFor, writerFor } from './pg-transaction-context.js';
import type { Selectable } from 'kysely';

export function toBalance(row: Selectable<BalancesTable>): Balance {
  return new Balance({ userId: row.user_id, amount: row.amount, updatedAt: row.updated_at });
}

export function toLedgerEntry(row: Selectable<BalanceLedgerTable>): LedgerEntry {
  return {
    id: row.id,
    userId: row.user_id,
    type: row.type,
    amount: row.amount,
    balanceAfter: row.balance_after,
    orderId: row.order_id,
    createdAt: row.created_at,
  };
}

export class PgBalanceRepository implements BalanceRepository {
  constructor(private readonly db: Db) {}

  async add(balance: Balance): Promise<void> {
    await this.db
      .insertInto('balances')
      .values({ user_id: balance.userId, amount: balance.amount, updated_at: balance.updatedAt })
      .execute();
  }
}

export class PgBalanceCharges implements BalanceCharges {
  constructor(private readonly db: Db) {}

  /**
   * One statement: the UPDATE lands the charge only on a balance with room for it (the guard the domain
   * states), and the INSERT writes its ledger entry only if it did, with the balance it made. Without a
   * key it commits by itself, so the balance row is locked from the UPDATE to the statement's own commit
   * inside the server, never across a round trip to this process; concurrent charges queue on the row lock
   * and PostgreSQL re-reads the row, and judges the guard again, once each gets it. Under an
   * Idempotency-Key it joins that request's transaction, with no savepoint: it has no failure to answer
   * from. It replaces SELECT … FOR UPDATE, then the write, then COMMIT (the balance row locked across three
   * round trips), which the design card's row locks would have: the domain needs no locked row to decide a
   * charge, only its guard and, when it is refused, a fresh read. Measured back to back on this machine
   * (`BENCH_SCALE=0.1 npm run bench -- charge-one-user`, c=64, pool 20, 2026-12-01): 157 then 386 charges
   * a second over HTTP, 229 then 828 through the use case in process; the one-row reference ran ~1,600.
   */
  async apply(charge: Charge): Promise<ChargeOutcome> {
    const { entry } = charge;
    const row = await writerFor(this.db)
      .with('charged', (db) =>
        db
          .updateTable('balances')
          .set((eb) => ({ amount: eb('amount', '+', charge.amount), updated_at: charge.at }))
          .where('user_id', '=', charge.userId)
          .where('amount', '<=', charge.highestBalanceBefore)
          .returning(['user_id', 'amount']),
      )
      .insertInto('balance_ledger')
      .columns(['user_id', 'type', 'amount', 'balance_after', 'order_id', 'created_at'])
      .expression((db) =>
        db
          .selectFrom('charged')
          .select((eb) => [
            'user_id',
            eb.val(entry.type).as('type'),
            eb.val(entry.amount).as('amount'),
            'amount as balance_after',
            eb.val(entry.orderId).as('order_id'),
            eb.val(entry.createdAt).as('created_at'),
          ]),
      )
      .returning('balance_after')
      .executeTakeFirst();
    if (row) return { applied: true, change: charge.landedOn(row.balance_after - charge.amount) };
    const now = await readerFor(this.db)
      .selectFrom('balances')
      .selectAll()
      .where('user_id', '=', charge.userId)
      .executeTakeFirst();
    return { applied: false, balance: now && toBalance(now) };
  }
}
