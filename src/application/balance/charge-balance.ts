import { Charge } from '../../domain/balance/balance.js';
import { UserNotFoundError } from '../../domain/user/user-errors.js';
import { type Actor, assertMayActFor } from '../shared/actor.js';
import type { BalanceCharges } from '../ports/balance-repository.js';
import type { Clock } from '../ports/clock.js';

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

/**
 * The domain checks the amount and states the ceiling as the highest balance the charge may land on; the
 * store lands it in one guarded step, so a busy wallet's row is never locked across a round trip here. A
 * refusal carries the balance it was refused on, which is the error's fact: no user, or the ceiling.
 */
export class ChargeBalance {
  constructor(
    private readonly charges: BalanceCharges,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, userId, amount }: ChargeBalanceInput): Promise<ChargeBalanceResult> {
    assertMayActFor(actor, userId);
    const charge = new Charge(userId, amount, this.clock.now());
    const outcome = await this.charges.apply(charge);
    if (outcome.applied) return { userId, balance: outcome.change.balance.amount, charged: amount };
    if (!outcome.balance) throw new UserNotFoundError(userId);
    throw charge.refusedOn(outcome.balance);
  }
}
