import { assertWholeAmount } from '../shared/money.js';
import { BalanceLimitExceededError, InsufficientBalanceError } from './balance-errors.js';

export const MAX_CHARGE_AMOUNT = 10_000_000;
export const MAX_BALANCE = 1_000_000_000;

export const LEDGER_ENTRY_TYPES = ['CHARGE', 'PAYMENT', 'REFUND'] as const;
export type LedgerEntryType = (typeof LEDGER_ENTRY_TYPES)[number];

/** One change to a balance, as the ledger records it. `amount` is signed: + for a charge or a refund, − for a payment. */
export interface LedgerEntryDraft {
  readonly userId: number;
  readonly type: LedgerEntryType;
  readonly amount: number;
  readonly balanceAfter: number;
  readonly orderId: number | null;
  readonly createdAt: Date;
}

export interface LedgerEntry extends LedgerEntryDraft {
  readonly id: number;
}

/** A change applied: the new balance and the ledger entry that explains it, always together. */
export interface BalanceChange {
  readonly balance: Balance;
  readonly entry: LedgerEntryDraft;
}

/**
 * A charge checked against the rules and ready to land on whatever the balance is when it does: what a store
 * applies in one guarded step, without reading the balance first. It may land only on a balance of at most
 * `highestBalanceBefore` (the ceiling less the amount), and leaves `entry` with the balance it lands on plus
 * the amount as its balanceAfter.
 */
export class Charge {
  readonly highestBalanceBefore: number;
  readonly entry: Omit<LedgerEntryDraft, 'balanceAfter'>;

  constructor(
    readonly userId: number,
    readonly amount: number,
    readonly at: Date,
  ) {
    assertWholeAmount('amount', amount, 1, MAX_CHARGE_AMOUNT);
    this.highestBalanceBefore = MAX_BALANCE - amount;
    this.entry = { userId, type: 'CHARGE', amount, orderId: null, createdAt: at };
  }

  /** The change it made, landing on `before`; the same as `Balance.charge` on that balance. */
  landedOn(before: number): BalanceChange {
    return new Balance({ userId: this.userId, amount: before, updatedAt: this.at }).charge(this.amount, this.at);
  }

  /** Why a store refused it on `balance`: the ceiling, with that balance as its fact. */
  refusedOn(balance: Balance): BalanceLimitExceededError {
    if (balance.amount <= this.highestBalanceBefore) {
      throw new Error(
        `a charge of ${this.amount} was refused on a balance of ${balance.amount}, which has room for it`,
      );
    }
    return ceilingPassed(balance, this.amount);
  }
}

const ceilingPassed = ({ userId, amount: balance }: Balance, amount: number) =>
  new BalanceLimitExceededError({ userId, balance, amount, limit: MAX_BALANCE });

export interface BalanceProps {
  readonly userId: number;
  readonly amount: number;
  readonly updatedAt: Date;
}

/** A user's prepaid balance. Immutable: each change returns a new Balance with its ledger entry. */
export class Balance implements BalanceProps {
  readonly userId: number;
  readonly amount: number;
  readonly updatedAt: Date;

  constructor(props: BalanceProps) {
    this.userId = props.userId;
    this.amount = props.amount;
    this.updatedAt = props.updatedAt;
  }

  /** A new user's balance: empty, from the moment the user exists. */
  static open(userId: number, at: Date): Balance {
    return new Balance({ userId, amount: 0, updatedAt: at });
  }

  charge(amount: number, at: Date): BalanceChange {
    assertWholeAmount('amount', amount, 1, MAX_CHARGE_AMOUNT);
    if (this.amount + amount > MAX_BALANCE) throw ceilingPassed(this, amount);
    return this.change('CHARGE', amount, null, at);
  }

  /** A payment of 0 is allowed (an order fully covered by a coupon) and still leaves a ledger entry. */
  pay(amount: number, orderId: number, at: Date): BalanceChange {
    assertWholeAmount('amount', amount, 0, Number.MAX_SAFE_INTEGER);
    if (amount > this.amount) {
      throw new InsufficientBalanceError({ userId: this.userId, required: amount, available: this.amount });
    }
    return this.change('PAYMENT', 0 - amount, orderId, at);
  }

  /**
   * Credits what a cancellation of `orderId` refunds. The ceiling holds for refunds as for charges. A refund of
   * 0 (of units a coupon paid for) changes nothing and, as the contract says, leaves no ledger entry: undefined.
   */
  refund(amount: number, orderId: number, at: Date): BalanceChange | undefined {
    assertWholeAmount('amount', amount, 0, Number.MAX_SAFE_INTEGER);
    if (amount === 0) return undefined;
    if (this.amount + amount > MAX_BALANCE) throw ceilingPassed(this, amount);
    return this.change('REFUND', amount, orderId, at);
  }

  private change(type: LedgerEntryType, signedAmount: number, orderId: number | null, at: Date): BalanceChange {
    const balance = new Balance({ userId: this.userId, amount: this.amount + signedAmount, updatedAt: at });
    return {
      balance,
      entry: { userId: this.userId, type, amount: signedAmount, balanceAfter: balance.amount, orderId, createdAt: at },
    };
  }
}
