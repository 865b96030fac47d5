import type { Balance } from '../../domain/balance/balance.js';
import { UserNotFoundError } from '../../domain/user/user-errors.js';
import { type Actor, assertMayActFor } from '../shared/actor.js';
import type { BalanceQueries } from '../ports/balance-queries.js';

export interface GetBalanceInput {
  readonly actor: Actor;
  readonly userId: number;
}

export class GetBalance {
  constructor(private readonly balances: BalanceQueries) {}

  async execute({ actor, userId }: GetBalanceInput): Promise<Balance> {
    assertMayActFor(actor, userId);
    const balance = await this.balances.findByUserId(userId);
    if (!balance) throw new UserNotFoundError(userId);
    return balance;
  }
}
