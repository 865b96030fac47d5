import type { BalanceRepository } from '../../application/ports/balance-repository.js';
import { Balance, type BalanceChange, type LedgerEntry } from '../../domain/balance/balance.js';
import type { BalanceLedgerTable, BalancesTable, Db } from './database.js';
import type { Selectable } from 'kysely';

export function toBalance(row: Selectable<BalancesTable>): Balance {
  return new Balance(row.user_id, row.amount, row.updated_at);
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
    const row = await this.db.selectFrom('balances').selectAll().where('user_id', '=', userId).forUpdate().executeTakeFirst();
    return row && toBalance(row);
  }

  async add(balance: Balance): Promise<void> {
    await this.db
      .insertInto('balances')
      .values({ user_id: balance.userId, amount: balance.amount, updated_at: balance.updatedAt })
      .execute();
  }

  async save({ balance, entry }: BalanceChange): Promise<LedgerEntry> {
    await this.db
      .updateTable('balances')
      .set({ amount: balance.amount, updated_at: balance.updatedAt })
      .where('user_id', '=', balance.userId)
      .execute();
    const row = await this.db
      .insertInto('balance_ledger')
      .values({
        user_id: entry.userId,
        type: entry.type,
        amount: entry.amount,
        balance_after: entry.balanceAfter,
        order_id: entry.orderId,
        created_at: entry.createdAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toLedgerEntry(row);
  }
}
