import type { Balance, BalanceChange, Charge } from '../../domain/balance/balance.js';

/** Writes, inside a unit of work. */
export interface BalanceRepository {
  add(balance: Balance): Promise<void>;
}

/** What became of a charge: the change it made, or, refused by its guard, the balance as read just after. */
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
   * most `charge.highestBalanceBefore`. Refused, it reads the balance afresh: one concurrent payment may have
   * lowered it since, so the refusal alone does not say the ceiling holds.
   */
  apply(charge: Charge): Promise<ChargeOutcome>;

  /**
   * The same charge decided on the balance locked first (a row lock held until the charge lands or is
   * refused), so a refusal carries the balance it was refused on: for when `apply`'s refusal and its fresh
   * read disagree, which a stream of payments could otherwise make happen at every try.
   */
  applyLocked(charge: Charge): Promise<ChargeOutcome>;
}
