import type { LedgerEntry } from '../../domain/balance/balance.js';
import { UserNotFoundError } from '../../domain/user/user-errors.js';
import { type Actor, assertMayActFor } from '../shared/actor.js';
import type { Page, PageRequest } from '../shared/pagination.js';
import type { BalanceQueries } from '../ports/balance-queries.js';

export interface GetBalanceHistoryInput {
  readonly actor: Actor;
  readonly userId: number;
  readonly page: PageRequest;
}

export class GetBalanceHistory {
  constructor(private readonly balances: BalanceQueries) {}

  async execute({ actor, userId, page }: GetBalanceHistoryInput): Promise<Page<LedgerEntry>> {
    assertMayActFor(actor, userId);
    const [balance, entries] = await Promise.all([
      this.balances.findByUserId(userId),
      this.balances.listLedger(userId, page),
    ]);
    if (!balance) throw new UserNotFoundError(userId);
    return entries;
  }
}
