import { describe, expect, it } from 'vitest';
import { Balance, MAX_BALANCE, MAX_CHARGE_AMOUNT } from '../../../src/domain/balance/balance.js';
import { BalanceLimitExceededError, InsufficientBalanceError } from '../../../src/domain/balance/balance-errors.js';
import { InvalidInputError } from '../../../src/domain/shared/domain-error.js';

const at = new Date('2026-11-24T07:00:00.000Z');
const later = new Date('2026-11-24T08:00:00.000Z');

describe('Balance', () => {
  it('adds a charge and records it with the balance after', () => {
    const { balance, entry } = new Balance(7, 1_000, at).charge(500, later);

    expect(balance).toEqual(new Balance(7, 1_500, later));
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
    const original = new Balance(7, 1_000, at);
    original.charge(500, later);
    expect(original.amount).toBe(1_000);
  });

  it.each([0, -1, 1.5, MAX_CHARGE_AMOUNT + 1, Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects a charge of %s',
    (amount) => {
      expect(() => new Balance(7, 0, at).charge(amount, later)).toThrow(InvalidInputError);
    },
  );

  it('accepts the largest single charge', () => {
    expect(new Balance(7, 0, at).charge(MAX_CHARGE_AMOUNT, later).balance.amount).toBe(MAX_CHARGE_AMOUNT);
  });

  it('may reach the ceiling exactly', () => {
    expect(new Balance(7, MAX_BALANCE - 10, at).charge(10, later).balance.amount).toBe(MAX_BALANCE);
  });

  it('refuses a charge that would pass the ceiling, naming the numbers', () => {
    const charge = () => new Balance(7, MAX_BALANCE - 10, at).charge(11, later);
    expect(charge).toThrow(BalanceLimitExceededError);
    expect(charge).toThrow(
      expect.objectContaining({
        code: 'BALANCE_LIMIT_EXCEEDED',
        facts: { userId: 7, balance: MAX_BALANCE - 10, amount: 11, limit: MAX_BALANCE },
      }),
    );
  });

  it('takes a payment as a negative ledger amount tied to its order', () => {
    const { balance, entry } = new Balance(7, 1_000, at).pay(400, 99, later);
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
    expect(new Balance(7, 0, at).pay(0, 99, later).entry.amount).toBe(0);
  });

  it('refuses a payment larger than the balance, naming what was required and available', () => {
    const pay = () => new Balance(7, 300, at).pay(301, 99, later);
    expect(pay).toThrow(InsufficientBalanceError);
    expect(pay).toThrow(expect.objectContaining({ facts: { userId: 7, required: 301, available: 300 } }));
  });
});
