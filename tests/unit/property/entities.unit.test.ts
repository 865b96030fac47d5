import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Balance, MAX_BALANCE, MAX_CHARGE_AMOUNT } from '../../../src/domain/balance/balance.js';
import {
  Coupon,
  type DiscountType,
  MAX_FIXED_DISCOUNT,
  MAX_PERCENT_DISCOUNT,
  discountOn,
} from '../../../src/domain/coupon/coupon.js';
import { UserCoupon } from '../../../src/domain/coupon/user-coupon.js';
import {
  MAX_LINE_QUANTITY,
  MAX_ORDER_LINES,
  Order,
  type OrderItem,
  validateItems,
} from '../../../src/domain/order/order.js';
import { MAX_PRICE, MAX_STOCK, Product } from '../../../src/domain/product/product.js';
import { DomainError } from '../../../src/domain/shared/domain-error.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const at = new Date('2026-11-24T07:00:00.000Z');
const RUNS = { numRuns: 300 };

const isWhole = (value: number, min: number, max: number) =>
  Number.isSafeInteger(value) && value >= min && value <= max;

/**
 * Any number a caller could pass where a whole amount is expected: the edges of the given ranges and
 * their neighbours, the safe-integer limits and just past them, any safe integer, and any double
 * (NaN, ±Infinity, −0 and fractions included).
 */
function numbersAround(...bounds: number[]): fc.Arbitrary<number> {
  const edges = bounds.flatMap((bound) => [bound - 1, bound, bound + 1, -bound]);
  return fc.oneof(
    fc.constantFrom(...edges, 0, -0, 1, -1, 0.5, MAX_SAFE, MAX_SAFE + 1, -MAX_SAFE, NaN, Infinity, -Infinity),
    fc.integer({ min: -2 * Math.max(...bounds), max: 2 * Math.max(...bounds) }),
    fc.maxSafeInteger(),
    fc.double(),
  );
}

/** Where a whole amount in min..max is kept: the edges and anything in between. */
const within = (min: number, max: number) =>
  fc.oneof(fc.constantFrom(min, min + 1, max - 1, max), fc.integer({ min, max }));

type Outcome<T> = { ok: T } | { code: string };

function outcomeOf<T>(act: () => T): Outcome<T> {
  try {
    return { ok: act() };
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return { code: (error as DomainError).code };
  }
}

describe('Balance', () => {
  const balances = within(0, MAX_BALANCE);

  it('charges a whole amount up to the ceiling, and refuses anything else with a domain error', () => {
    fc.assert(
      fc.property(
        balances,
        fc.oneof(within(1, MAX_CHARGE_AMOUNT), numbersAround(MAX_CHARGE_AMOUNT, MAX_BALANCE)),
        (amount, charge) => {
          const expected = !isWhole(charge, 1, MAX_CHARGE_AMOUNT)
            ? { code: 'INVALID_REQUEST' }
            : amount + charge > MAX_BALANCE
              ? { code: 'BALANCE_LIMIT_EXCEEDED' }
              : {
                  ok: {
                    balance: new Balance({ userId: 7, amount: amount + charge, updatedAt: at }),
                    entry: {
                      userId: 7,
                      type: 'CHARGE',
                      amount: charge,
                      balanceAfter: amount + charge,
                      orderId: null,
                      createdAt: at,
                    },
                  },
                };
          expect(outcomeOf(() => new Balance({ userId: 7, amount, updatedAt: at }).charge(charge, at))).toEqual(
            expected,
          );
        },
      ),
      RUNS,
    );
  });

  it('pays a whole amount it covers, records it negative, and refuses anything else with a domain error', () => {
    fc.assert(
      fc.property(balances, fc.oneof(within(0, MAX_BALANCE), numbersAround(MAX_BALANCE)), (amount, payment) => {
        const expected = !isWhole(payment, 0, MAX_SAFE)
          ? { code: 'INVALID_REQUEST' }
          : payment > amount
            ? { code: 'INSUFFICIENT_BALANCE' }
            : {
                ok: {
                  balance: new Balance({ userId: 7, amount: amount - payment, updatedAt: at }),
                  entry: {
                    userId: 7,
                    type: 'PAYMENT',
                    amount: 0 - payment,
                    balanceAfter: amount - payment,
                    orderId: 42,
                    createdAt: at,
                  },
                },
              };
        const outcome = outcomeOf(() => new Balance({ userId: 7, amount, updatedAt: at }).pay(payment, 42, at));
        expect(outcome).toEqual(expected);
        // A payment of 0 is written as 0, not −0.
        if ('ok' in outcome) expect(Object.is(outcome.ok.entry.amount, -0)).toBe(false);
      }),
      RUNS,
    );
  });

  it('keeps the balance within 0..1,000,000,000 over any run of charges and payments, the ledger adding up to it', () => {
    const operation = fc.oneof(
      fc.record({
        type: fc.constant('charge' as const),
        amount: fc.oneof(within(1, MAX_CHARGE_AMOUNT), numbersAround(MAX_CHARGE_AMOUNT)),
      }),
      fc.record({
        type: fc.constant('pay' as const),
        amount: fc.oneof(within(0, MAX_CHARGE_AMOUNT), numbersAround(MAX_CHARGE_AMOUNT, MAX_BALANCE)),
      }),
    );
    fc.assert(
      fc.property(balances, fc.array(operation, { maxLength: 60 }), (start, operations) => {
        let balance = new Balance({ userId: 7, amount: start, updatedAt: at });
        let sum = start;
        for (const { type, amount } of operations) {
          try {
            const change = type === 'charge' ? balance.charge(amount, at) : balance.pay(amount, 1, at);
            expect(change.entry.balanceAfter).toBe(balance.amount + change.entry.amount);
            expect(Math.sign(change.entry.amount)).not.toBe(type === 'charge' ? -1 : 1);
            balance = change.balance;
            sum += change.entry.amount;
          } catch (error) {
            expect(error).toBeInstanceOf(DomainError);
          }
          expect(isWhole(balance.amount, 0, MAX_BALANCE)).toBe(true);
        }
        expect(balance.amount).toBe(sum);
      }),
      { numRuns: 200 },
    );
  });
});

describe('Product', () => {
  const stocks = within(0, MAX_STOCK);
  const product = (stock: number) => new Product({ id: 3, name: 'Mug', price: 12_000, stock });

  it('takes a whole quantity it has in stock, and refuses anything else with a domain error', () => {
    fc.assert(
      fc.property(
        stocks,
        fc.oneof(within(1, MAX_LINE_QUANTITY), numbersAround(MAX_STOCK, MAX_LINE_QUANTITY)),
        (stock, quantity) => {
          const expected = !isWhole(quantity, 1, MAX_STOCK)
            ? { code: 'INVALID_REQUEST' }
            : quantity > stock
              ? { code: 'INSUFFICIENT_STOCK' }
              : { ok: product(stock - quantity) };
          expect(outcomeOf(() => product(stock).take(quantity))).toEqual(expected);
        },
      ),
      RUNS,
    );
  });

  it('adjusts stock within 0..1,000,000,000, and refuses anything else with a domain error', () => {
    fc.assert(
      fc.property(stocks, numbersAround(MAX_STOCK), (stock, delta) => {
        const expected = !isWhole(delta, -MAX_STOCK, MAX_STOCK)
          ? { code: 'INVALID_REQUEST' }
          : stock + delta < 0
            ? { code: 'INSUFFICIENT_STOCK' }
            : stock + delta > MAX_STOCK
              ? { code: 'STOCK_LIMIT_EXCEEDED' }
              : { ok: product(stock + delta) };
        const outcome = outcomeOf(() => product(stock).adjustStock(delta));
        expect(outcome).toEqual(expected);
        if ('ok' in outcome) expect(isWhole(outcome.ok.stock, 0, MAX_STOCK)).toBe(true);
      }),
      RUNS,
    );
  });
});

const discountTypes = fc.constantFrom<DiscountType>('FIXED', 'PERCENT');
const discountValueFor = (type: DiscountType) =>
  within(1, type === 'FIXED' ? MAX_FIXED_DISCOUNT : MAX_PERCENT_DISCOUNT);
const discounts = discountTypes.chain((type) => discountValueFor(type).map((value) => ({ type, value })));

/** The contract's discount, computed exactly: FIXED its value, PERCENT floor(total · v / 100), never past the total. */
function expectedDiscount(total: number, { type, value }: { type: DiscountType; value: number }): number {
  const raw = type === 'FIXED' ? value : Number((BigInt(total) * BigInt(value)) / 100n);
  return Math.min(raw, total);
}

const copyOf = ({ type, value }: { type: DiscountType; value: number }) =>
  new UserCoupon({
    id: 9,
    couponId: 3,
    userId: 5,
    name: 'c',
    discountType: type,
    discountValue: value,
    issuedAt: at,
    expiresAt: new Date(at.getTime() + 86_400_000),
    usedAt: null,
    orderId: null,
  });

describe('Order.place', () => {
  const lines = fc
    .uniqueArray(
      fc.record({
        id: fc.integer({ min: 1, max: 1_000_000 }),
        price: within(1, MAX_PRICE),
        quantity: within(1, MAX_LINE_QUANTITY),
      }),
      {
        minLength: 1,
        maxLength: MAX_ORDER_LINES,
        selector: (line) => line.id,
      },
    )
    .map((drafts) =>
      drafts.map(({ id, price, quantity }) => ({
        product: new Product({ id, name: `P${id}`, price, stock: MAX_STOCK }),
        quantity,
      })),
    );

  it('adds up the lines, takes off a discount within 0..total, and leaves total − discount to pay', () => {
    fc.assert(
      fc.property(lines, fc.option(discounts, { nil: undefined }), (orderLines, discount) => {
        const draft = Order.place({ userId: 5, lines: orderLines, coupon: discount && copyOf(discount), at });

        draft.lines.forEach((line, i) => {
          const { product, quantity } = orderLines[i]!;
          expect(line).toEqual({
            productId: product.id,
            name: product.name,
            quantity,
            unitPrice: product.price,
            amount: product.price * quantity,
          });
        });
        expect(draft.totalAmount).toBe(
          orderLines.reduce((sum, { product, quantity }) => sum + product.price * quantity, 0),
        );
        expect(Number.isSafeInteger(draft.totalAmount)).toBe(true);
        expect(draft.discountAmount).toBe(discount ? expectedDiscount(draft.totalAmount, discount) : 0);
        expect(draft.discountAmount).toBeGreaterThanOrEqual(0);
        expect(draft.discountAmount).toBeLessThanOrEqual(draft.totalAmount);
        expect(draft.paidAmount).toBe(draft.totalAmount - draft.discountAmount);
        expect(draft.userCouponId).toBe(discount ? 9 : null);
      }),
      RUNS,
    );
  });
});

describe('discountOn', () => {
  const totals = fc.oneof(
    fc.constantFrom(0, 1, 99, 100, 101, MAX_FIXED_DISCOUNT - 1, MAX_FIXED_DISCOUNT, MAX_FIXED_DISCOUNT + 1),
    fc.integer({ min: 0, max: 5e12 }),
  );

  it('is FIXED = min(v, total) and PERCENT = min(floor(total · v / 100), total)', () => {
    fc.assert(
      fc.property(totals, discounts, (total, discount) => {
        expect(discountOn(total, discount.type, discount.value)).toBe(expectedDiscount(total, discount));
      }),
      RUNS,
    );
  });

  it('never gives a smaller discount on a larger total', () => {
    fc.assert(
      fc.property(totals, totals, discounts, (a, b, { type, value }) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        expect(discountOn(low, type, value)).toBeLessThanOrEqual(discountOn(high, type, value));
      }),
      RUNS,
    );
  });
});

describe('validateItems', () => {
  const productIds = fc.oneof(fc.integer({ min: 1, max: 60 }), fc.constantFrom(1, MAX_SAFE));
  const item = fc.record({ productId: productIds, quantity: numbersAround(MAX_LINE_QUANTITY) });
  const wellFormedItem = fc.record({ productId: productIds, quantity: within(1, MAX_LINE_QUANTITY) });
  const distinct = { selector: (line: OrderItem) => line.productId };
  const itemLists = fc.oneof(
    fc.array(item, { maxLength: MAX_ORDER_LINES + 3 }),
    fc.array(wellFormedItem, { maxLength: 8 }),
    fc.uniqueArray(wellFormedItem, { minLength: 1, maxLength: MAX_ORDER_LINES + 1, ...distinct }),
    fc.uniqueArray(wellFormedItem, { minLength: MAX_ORDER_LINES - 1, maxLength: MAX_ORDER_LINES + 1, ...distinct }),
  );

  /** The contract: 1..50 lines, distinct products, each quantity a whole 1..1,000. */
  const allowed = (items: readonly OrderItem[]) =>
    items.length >= 1 &&
    items.length <= MAX_ORDER_LINES &&
    new Set(items.map((line) => line.productId)).size === items.length &&
    items.every((line) => isWhole(line.quantity, 1, MAX_LINE_QUANTITY));

  it('accepts exactly the item lists the contract allows, rejecting the rest as INVALID_REQUEST', () => {
    fc.assert(
      fc.property(itemLists, (items) => {
        const outcome = outcomeOf(() => validateItems(items));
        expect(outcome).toEqual(allowed(items) ? { ok: undefined } : { code: 'INVALID_REQUEST' });
      }),
      { numRuns: 500 },
    );
  });

  // Known gap, reported: validateItems checks neither that a productId is a positive integer nor that it
  // is a number at all; only the HTTP schema does. Flip to `it` once the entity guards its own input.
  it('rejects a line whose productId is not a positive integer', () => {
    fc.assert(
      fc.property(
        numbersAround(1).filter((id) => !isWhole(id, 1, MAX_SAFE)),
        (productId) => {
          expect(() => validateItems([{ productId, quantity: 1 }])).toThrow(DomainError);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('Coupon.isIssuableAt', () => {
  const dates = fc.date({
    min: new Date('2000-01-01T00:00:00.000Z'),
    max: new Date('2100-01-01T00:00:00.000Z'),
    noInvalidDate: true,
  });
  const coupon = (issueStartsAt: Date | null, issueEndsAt: Date | null) =>
    new Coupon({
      id: 1,
      name: 'c',
      discountType: 'FIXED',
      discountValue: 1_000,
      totalQuantity: 10,
      issuedQuantity: 0,
      validDays: 7,
      issueStartsAt,
      issueEndsAt,
    });
  const near = (date: Date | null) => (date ? [new Date(date.getTime() - 1), date, new Date(date.getTime() + 1)] : []);
  const cases = fc
    .tuple(fc.option(dates), fc.option(dates))
    .chain(([starts, ends]) =>
      fc.tuple(
        fc.constant(starts),
        fc.constant(ends),
        fc.oneof(dates, fc.constantFrom(...near(starts), ...near(ends), at)),
      ),
    );

  it('is issuable exactly when issueStartsAt <= now < issueEndsAt, an open end unbounded', () => {
    fc.assert(
      fc.property(cases, ([starts, ends, now]) => {
        const expected =
          (starts === null || starts.getTime() <= now.getTime()) && (ends === null || now.getTime() < ends.getTime());
        expect(coupon(starts, ends).isIssuableAt(now)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});
