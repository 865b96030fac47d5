import { describe, expect, it } from 'vitest';
import { Balance, Charge, MAX_BALANCE, MAX_CHARGE_AMOUNT } from '../../../src/domain/balance/balance.js';
import { BalanceLimitExceededError, InsufficientBalanceError } from '../../../src/domain/balance/balance-errors.js';
import { InvalidInputError } from '../../../src/domain/shared/domain-error.js';

const at = new Date('2026-11-24T07:00:00.000Z');
const later = new Date('2026-11-24T08:00:00.000Z');

describe('Balance', () => {
  it('adds a charge and records it with the balance after', () => {
    const { balance, entry } = new Balance({ userId: 7, amount: 1_000, updatedAt: at }).charge(500, later);

    expect(balance).toEqual(new Balance({ userId: 7, amount: 1_500, updatedAt: later }));
    expect(entry).toEqual({
      userId: 7,
      type: 'CHARGE',
      amount: 500,
      balanceAfter: 1_500,
      orderId: null,
      createdAt: later,
    });
  });

  it('does not change itself when charged', () => {
    const original = new Balance({ userId: 7, amount: 1_000, updatedAt: at });
    original.charge(500, later);
    expect(original.amount).toBe(1_000);
  });

  it.each([0, -1, 1.5, MAX_CHARGE_AMOUNT + 1, Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects a charge of %s',
    (amount) => {
      expect(() => new Balance({ userId: 7, amount: 0, updatedAt: at }).charge(amount, later)).toThrow(
        InvalidInputError,
      );
    },
  );

  it('accepts the largest single charge', () => {
    expect(new Balance({ userId: 7, amount: 0, updatedAt: at }).charge(MAX_CHARGE_AMOUNT, later).balance.amount).toBe(
      MAX_CHARGE_AMOUNT,
    );
  });

  it('may reach the ceiling exactly', () => {
    expect(new Balance({ userId: 7, amount: MAX_BALANCE - 10, updatedAt: at }).charge(10, later).balance.amount).toBe(
      MAX_BALANCE,
    );
  });

  it('refuses a charge that would pass the ceiling, naming the numbers', () => {
    const charge = () => new Balance({ userId: 7, amount: MAX_BALANCE - 10, updatedAt: at }).charge(11, later);
    expect(charge).toThrow(BalanceLimitExceededError);
    expect(charge).toThrow(
      expect.objectContaining({
        code: 'BALANCE_LIMIT_EXCEEDED',
        facts: { userId: 7, balance: MAX_BALANCE - 10, amount: 11, limit: MAX_BALANCE },
      }),
    );
  });

  it('takes a payment as a negative ledger amount tied to its order', () => {
    const { balance, entry } = new Balance({ userId: 7, amount: 1_000, updatedAt: at }).pay(400, 99, later);
    expect(balance.amount).toBe(600);
    expect(entry).toEqual({
      userId: 7,
      type: 'PAYMENT',
      amount: -400,
      balanceAfter: 600,
      orderId: 99,
      createdAt: later,
    });
  });

  it('allows a payment of zero, for an order a coupon covers in full', () => {
    expect(new Balance({ userId: 7, amount: 0, updatedAt: at }).pay(0, 99, later).entry.amount).toBe(0);
  });

  it('refuses a payment larger than the balance, naming what was required and available', () => {
    const pay = () => new Balance({ userId: 7, amount: 300, updatedAt: at }).pay(301, 99, later);
    expect(pay).toThrow(InsufficientBalanceError);
    expect(pay).toThrow(expect.objectContaining({ facts: { userId: 7, required: 301, available: 300 } }));
  });

  it('credits a refund as a positive ledger amount tied to its order', () => {
    const { balance, entry } = new Balance({ userId: 7, amount: 1_000, updatedAt: at }).refund(400, 99, later)!;
    expect(balance).toEqual(new Balance({ userId: 7, amount: 1_400, updatedAt: later }));
    expect(entry).toEqual({
      userId: 7,
      type: 'REFUND',
      amount: 400,
      balanceAfter: 1_400,
      orderId: 99,
      createdAt: later,
    });
  });

  it('refunds more than a single charge may be, since an order may have cost more', () => {
    expect(
      new Balance({ userId: 7, amount: 0, updatedAt: at }).refund(MAX_CHARGE_AMOUNT + 1, 99, later)?.balance.amount,
    ).toBe(MAX_CHARGE_AMOUNT + 1);
  });

  it('leaves no ledger entry for a refund of 0, even at the ceiling', () => {
    expect(new Balance({ userId: 7, amount: 1_000, updatedAt: at }).refund(0, 99, later)).toBeUndefined();
    expect(new Balance({ userId: 7, amount: MAX_BALANCE, updatedAt: at }).refund(0, 99, later)).toBeUndefined();
  });

  it('may refund up to the ceiling exactly', () => {
    expect(
      new Balance({ userId: 7, amount: MAX_BALANCE - 10, updatedAt: at }).refund(10, 99, later)?.balance.amount,
    ).toBe(MAX_BALANCE);
  });

  it('refuses a refund that would pass the ceiling, with the facts a charge gives', () => {
    const refund = () => new Balance({ userId: 7, amount: MAX_BALANCE - 10, updatedAt: at }).refund(11, 99, later);
    expect(refund).toThrow(BalanceLimitExceededError);
    expect(refund).toThrow(
      expect.objectContaining({
        code: 'BALANCE_LIMIT_EXCEEDED',
        facts: { userId: 7, balance: MAX_BALANCE - 10, amount: 11, limit: MAX_BALANCE },
      }),
    );
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects a refund of %s', (amount) => {
    expect(() => new Balance({ userId: 7, amount: 0, updatedAt: at }).refund(amount, 99, later)).toThrow(
      InvalidInputError,
    );
  });
});

describe('Charge', () => {
  it('lands on a balance as Balance.charge would, and leaves the same ledger entry but for balanceAfter', () => {
    const charge = new Charge(7, 500, later);

    expect(charge.landedOn(1_000)).toEqual(new Balance({ userId: 7, amount: 1_000, updatedAt: at }).charge(500, later));
    const { balanceAfter, ...entry } = charge.landedOn(1_000).entry;
    expect({ entry: charge.entry, balanceAfter }).toEqual({ entry, balanceAfter: 1_500 });
  });

  it('may land on a balance up to the ceiling less the amount, never higher', () => {
    const charge = new Charge(7, 3_000_000, later);

    expect(charge.highestBalanceBefore).toBe(MAX_BALANCE - 3_000_000);
    expect(charge.landedOn(charge.highestBalanceBefore).balance.amount).toBe(MAX_BALANCE);
    expect(() => charge.landedOn(charge.highestBalanceBefore + 1)).toThrow(BalanceLimitExceededError);
  });

  it.each([0, -1, 1.5, MAX_CHARGE_AMOUNT + 1, Number.NaN])('refuses an amount of %s', (amount) => {
    expect(() => new Charge(7, amount, later)).toThrow(InvalidInputError);
  });
});
