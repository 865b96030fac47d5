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

/** A guard refused the charge yet the balance read after it had room this many times in a row: give up. */
const MAX_ATTEMPTS = 5;

/**
 * The domain checks the amount and states the ceiling as the highest balance the charge may land on; the
 * store lands it in one guarded step, so a busy wallet's row is never locked across a round trip here.
 * When the guard refuses, the balance read afresh decides the error: no user, or the ceiling (with the
 * balance that was there). A read that finds room means a payment lowered the balance in between: the
 * charge is tried again.
 */
export class ChargeBalance {
  constructor(
    private readonly charges: BalanceCharges,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, userId, amount }: ChargeBalanceInput): Promise<ChargeBalanceResult> {
    assertMayActFor(actor, userId);
    const at = this.clock.now();
    const charge = new Charge(userId, amount, at);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const outcome = await this.charges.apply(charge);
      if (outcome.applied) return { userId, balance: outcome.change.balance.amount, charged: amount };
      if (!outcome.balance) throw new UserNotFoundError(userId);
      outcome.balance.charge(amount, at); // throws BALANCE_LIMIT_EXCEEDED when it does not fit
    }
    throw new Error(`the charge on user ${userId} found room after its guard refused it ${MAX_ATTEMPTS} times`);
  }
}
