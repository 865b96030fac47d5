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
 * store lands it in one guarded step, so a busy wallet's row is never locked across a round trip here.
 * When the guard refuses, the balance read afresh decides the error: no user, or the ceiling (with the
 * balance that was there). A read that finds room means a payment lowered the balance in between: the
 * charge is then decided on the balance locked, whose refusal is final, so every charge gets an answer.
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
    let outcome = await this.charges.apply(charge);
    if (!outcome.applied && outcome.balance) {
      outcome.balance.charge(amount, at); // throws BALANCE_LIMIT_EXCEEDED when it does not fit
      outcome = await this.charges.applyLocked(charge);
    }
    if (outcome.applied) return { userId, balance: outcome.change.balance.amount, charged: amount };
    if (!outcome.balance) throw new UserNotFoundError(userId);
    outcome.balance.charge(amount, at);
    // Reached only by a store that breaks applyLocked's contract (a refusal on a balance with room).
    throw new Error(`the locked charge on user ${userId} was refused on a balance with room for it`);
  }
}
