import type { BalanceQueries } from '../../application/ports/balance-queries.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import type { Balance, LedgerEntry } from '../../domain/balance/balance.js';
import type { Db } from './database.js';
import { toBalance, toLedgerEntry } from './pg-balance-repository.js';
import { readerFor } from './pg-transaction-context.js';

export class PgBalanceQueries implements BalanceQueries {
  constructor(private readonly pool: Db) {}

  /** On the open unit of work's connection when there is one (see the ports' note on reads), else the pool. */
  private get db(): Db {
    return readerFor(this.pool);
  }

  async findByUserId(userId: number): Promise<Balance | undefined> {
    const row = await this.db.selectFrom('balances').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return row && toBalance(row);
  }

  async listLedger(userId: number, { limit, after }: PageRequest): Promise<Page<LedgerEntry>> {
    let query = this.db.selectFrom('balance_ledger').selectAll().where('user_id', '=', userId);
    if (after !== undefined) query = query.where('id', '<', after);
    const rows = await query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    return pageFrom(rows.map(toLedgerEntry), limit, (entry) => entry.id);
  }
}
