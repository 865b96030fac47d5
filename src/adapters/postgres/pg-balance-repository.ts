import type { BalanceRepository } from '../../application/ports/balance-repository.js';
import { Balance, type BalanceChange, type LedgerEntry } from '../../domain/balance/balance.js';
import type { BalanceLedgerTable, BalancesTable, Db } from './database.js';
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

  async getByUserIdForUpdate(userId: number): Promise<Balance | undefined> {
    const row = await this.db
      .selectFrom('balances')
      .selectAll()
      .where('user_id', '=', userId)
      .forUpdate()
      .executeTakeFirst();
    return row && toBalance(row);
  }

  async add(balance: Balance): Promise<void> {
    await this.db
      .insertInto('balances')
      .values({ user_id: balance.userId, amount: balance.amount, updated_at: balance.updatedAt })
      .execute();
  }

  /** One statement, so the balance and its ledger entry are written in a single round trip. */
  async save({ balance, entry }: BalanceChange): Promise<LedgerEntry> {
    const row = await this.db
      .with('updated', (db) =>
        db
          .updateTable('balances')
          .set({ amount: balance.amount, updated_at: balance.updatedAt })
          .where('user_id', '=', balance.userId)
          .returning('user_id'),
      )
      .insertInto('balance_ledger')
      .columns(['user_id', 'type', 'amount', 'balance_after', 'order_id', 'created_at'])
      .expression((db) =>
        db
          .selectFrom('updated')
          .select((eb) => [
            'user_id',
            eb.val(entry.type).as('type'),
            eb.val(entry.amount).as('amount'),
            eb.val(entry.balanceAfter).as('balance_after'),
            eb.val(entry.orderId).as('order_id'),
            eb.val(entry.createdAt).as('created_at'),
          ]),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return toLedgerEntry(row);
  }
}
