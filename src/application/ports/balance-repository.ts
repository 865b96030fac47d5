import type { Balance, BalanceChange, Charge } from '../../domain/balance/balance.js';

/** Writes, inside a unit of work. */
export interface BalanceRepository {
  add(balance: Balance): Promise<void>;
}

/** What became of a charge: the change it made, or its refusal with the balance it was refused on. */
export type ChargeOutcome =
  | { readonly applied: true; readonly change: BalanceChange }
  /** `balance` is undefined when there is no such user. */
  | { readonly applied: false; readonly balance: Balance | undefined };

/**
 * Charging is one atomic step of its own, not a unit of work, like issuing a coupon: a busy wallet's row
 * would otherwise stay locked across round trips to the application. Called inside a unit of work (a
 * request with an Idempotency-Key), it joins that unit of work, so the two commit together.
 */
export interface BalanceCharges {
  /**
   * Lands the charge, with its ledger entry, on the balance as it is at that instant, if that balance is at
   * most `charge.highestBalanceBefore`. A refusal is final and carries the balance it was refused on, which
   * has no room for the charge: the caller answers from it and never asks again.
   */
  apply(charge: Charge): Promise<ChargeOutcome>;
}
