import { UserNotFoundError } from '../../domain/user/user-errors.js';
import { type Actor, assertMayActFor } from '../shared/actor.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';

export interface ChargeBalanceInput {
  readonly actor: Actor;
  readonly userId: number;
  readonly amount: number;
}

export interface ChargeBalanceResult {
  readonly userId: number;
  readonly balance: number;
  readonly charged: number;
}

export class ChargeBalance {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, userId, amount }: ChargeBalanceInput): Promise<ChargeBalanceResult> {
    assertMayActFor(actor, userId);
    return this.uow.run(async (repos) => {
      const balance = await repos.balances.getByUserIdForUpdate(userId);
      if (!balance) throw new UserNotFoundError(userId);
      const change = balance.charge(amount, this.clock.now());
      await repos.balances.save(change);
      return { userId, balance: change.balance.amount, charged: amount };
    });
  }
}
