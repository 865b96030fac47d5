import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserCoupon } from '../../../src/domain/coupon/user-coupon.js';
import { type Cancellation, refundedTotal } from '../../../src/domain/order/cancellation.js';
import { OrderNotCancellableError } from '../../../src/domain/order/order-errors.js';
import { MAX_LINE_QUANTITY, Order, type OrderItem, type OrderLine } from '../../../src/domain/order/order.js';
import { MAX_PRICE, Product } from '../../../src/domain/product/product.js';
import { InvalidInputError } from '../../../src/domain/shared/domain-error.js';

const at = new Date('2026-11-24T07:00:00.000Z');
const later = new Date('2026-11-24T08:00:00.000Z');
const evening = new Date('2026-11-24T12:00:00.000Z');
const mug = new Product({ id: 1, name: 'Mug', price: 12_000, stock: 10 });
const beans = new Product({ id: 2, name: 'Beans', price: 28_000, stock: 10 });

function coupon(discountType: 'FIXED' | 'PERCENT', discountValue: number) {
  return new UserCoupon({
    id: 9,
    couponId: 3,
    userId: 5,
    name: 'c',
    discountType,
    discountValue,
    issuedAt: at,
    expiresAt: new Date(at.getTime() + 86_400_000),
    usedAt: null,
    orderId: null,
  });
}

/** Order 44: 2 mugs at 12,000 and 1 beans at 28,000, 52,000 in all, 10% off: 46,800 paid. */
function paidOrder(): Order {
  const draft = Order.place({
    userId: 5,
    lines: [
      { product: mug, quantity: 2 },
      { product: beans, quantity: 1 },
    ],
    coupon: coupon('PERCENT', 10),
    at,
  });
  return new Order({ ...draft, id: 44 });
}

/** One product, `quantity` units at `price`, with exactly `discountAmount` off. */
function orderOf(price: number, quantity: number, discountAmount: number): Order {
  const line = { productId: 1, name: 'Thing', quantity, unitPrice: price, amount: price * quantity };
  return new Order({
    id: 44,
    userId: 5,
    lines: [line],
    totalAmount: line.amount,
    discountAmount,
    paidAmount: line.amount - discountAmount,
    userCouponId: discountAmount > 0 ? 9 : null,
    createdAt: at,
  });
}

/** Cancels one unit at a time until nothing is left, and answers each refund. */
function refundsUnitByUnit(order: Order): number[] {
  const refunds: number[] = [];
  for (let current = order; current.status !== 'CANCELLED'; ) {
    const { order: after, cancellation } = current.cancel([{ productId: 1, quantity: 1 }], later);
    refunds.push(cancellation.refundAmount);
    current = after;
  }
  return refunds;
}

const notCancellable = (facts: Record<string, number>): unknown =>
  expect.objectContaining({ code: 'ORDER_NOT_CANCELLABLE', facts });

describe('Order.cancel', () => {
  it('records part of a paid order as a cancellation of its own, leaving the lines as sold', () => {
    const order = paidOrder();
    const { order: after, cancellation } = order.cancel([{ productId: 2, quantity: 1 }], later);

    expect(cancellation).toStrictEqual({
      orderId: 44,
      lines: [{ productId: 2, quantity: 1, unitPrice: 28_000, amount: 28_000 }],
      refundAmount: 25_200,
      createdAt: later,
    });
    expect(after.lines).toEqual(order.lines);
    expect(after.cancellations).toEqual([cancellation]);
    expect({ status: after.status, refunded: after.refundedAmount, cancelledAt: after.cancelledAt }).toEqual({
      status: 'PARTIALLY_CANCELLED',
      refunded: 25_200,
      cancelledAt: null,
    });
    expect(after.lineViews).toEqual([
      {
        productId: 1,
        name: 'Mug',
        quantity: 2,
        unitPrice: 12_000,
        amount: 24_000,
        cancelledQuantity: 0,
        cancellableQuantity: 2,
      },
      {
        productId: 2,
        name: 'Beans',
        quantity: 1,
        unitPrice: 28_000,
        amount: 28_000,
        cancelledQuantity: 1,
        cancellableQuantity: 0,
      },
    ]);
  });

  it('does not change the order it was called on', () => {
    const order = paidOrder();
    order.cancel(undefined, later);
    expect({ status: order.status, cancellations: order.cancellations, refunded: order.refundedAmount }).toEqual({
      status: 'PAID',
      cancellations: [],
      refunded: 0,
    });
  });

  it('goes PAID, PARTIALLY_CANCELLED, CANCELLED, and is cancelled from the cancellation that left nothing', () => {
    const first = paidOrder().cancel([{ productId: 1, quantity: 1 }], later);
    const second = first.order.cancel(
      [
        { productId: 2, quantity: 1 },
        { productId: 1, quantity: 1 },
      ],
      evening,
    );

    expect([first.order.status, second.order.status]).toEqual(['PARTIALLY_CANCELLED', 'CANCELLED']);
    expect([first.order.cancelledAt, second.order.cancelledAt]).toEqual([null, evening]);
    expect(second.cancellation.lines).toEqual([
      { productId: 2, quantity: 1, unitPrice: 28_000, amount: 28_000 },
      { productId: 1, quantity: 1, unitPrice: 12_000, amount: 12_000 },
    ]);
    expect([first.cancellation.refundAmount, second.cancellation.refundAmount]).toEqual([10_800, 36_000]);
    expect(second.order.refundedAmount).toBe(46_800);
    expect(second.order.lineViews.map((line) => [line.cancelledQuantity, line.cancellableQuantity])).toEqual([
      [2, 0],
      [1, 0],
    ]);
  });

  it('cancels everything at once when no items are given: PAID to CANCELLED, the whole paid amount back', () => {
    const { order, cancellation } = paidOrder().cancel(undefined, later);

    expect(cancellation).toStrictEqual({
      orderId: 44,
      lines: [
        { productId: 1, quantity: 2, unitPrice: 12_000, amount: 24_000 },
        { productId: 2, quantity: 1, unitPrice: 28_000, amount: 28_000 },
      ],
      refundAmount: 46_800,
      createdAt: later,
    });
    expect({ status: order.status, refunded: order.refundedAmount, cancelledAt: order.cancelledAt }).toEqual({
      status: 'CANCELLED',
      refunded: 46_800,
      cancelledAt: later,
    });
  });

  it('cancels only what is left when no items are given after a partial cancellation', () => {
    const partly = paidOrder().cancel([{ productId: 1, quantity: 1 }], later).order;
    const { order, cancellation } = partly.cancel(undefined, evening);

    expect(cancellation.lines).toEqual([
      { productId: 1, quantity: 1, unitPrice: 12_000, amount: 12_000 },
      { productId: 2, quantity: 1, unitPrice: 28_000, amount: 28_000 },
    ]);
    expect(cancellation.refundAmount).toBe(36_000);
    expect({ status: order.status, refunded: order.refundedAmount, cancelledAt: order.cancelledAt }).toEqual({
      status: 'CANCELLED',
      refunded: 46_800,
      cancelledAt: evening,
    });
  });
});

describe('Order.cancel refunds', () => {
  it('shares the discount in proportion, each refund the growth of the rounded-down total', () => {
    // 3 × 10,000 with 1,000 off: floor(29,000 · C / 30,000) is 9,666, then 19,333, then 29,000.
    expect(refundsUnitByUnit(orderOf(10_000, 3, 1_000))).toEqual([9_666, 9_667, 9_667]);
  });

  it('may refund 0, and still adds up to the paid amount at the end', () => {
    expect(refundsUnitByUnit(orderOf(10_000, 3, 29_999))).toEqual([0, 0, 1]);
  });

  it('refunds nothing of an order a coupon paid in full', () => {
    expect(refundsUnitByUnit(orderOf(10_000, 2, 20_000))).toEqual([0, 0]);
  });

  it('refunds the unit price less nothing when there was no discount', () => {
    expect(refundsUnitByUnit(orderOf(9_999, 3, 0))).toEqual([9_999, 9_999, 9_999]);
  });

  it('computes paid · C past 2^53 exactly, where floating point would refund 1 won too many', () => {
    // 49 lines of 1,000 units at 100,000,000 and one at 99,999,676, 7,610,405 off; 814 units of that one back.
    const lines: OrderLine[] = Array.from({ length: 50 }, (_, i) => {
      const unitPrice = i === 0 ? 99_999_676 : MAX_PRICE;
      return { productId: i + 1, name: `p${i + 1}`, quantity: 1_000, unitPrice, amount: unitPrice * 1_000 };
    });
    const totalAmount = lines.reduce((sum, line) => sum + line.amount, 0);
    const order = new Order({
      id: 44,
      userId: 5,
      lines,
      totalAmount,
      discountAmount: 7_610_405,
      paidAmount: totalAmount - 7_610_405,
      userCouponId: 9,
      createdAt: at,
    });
    const gross = 99_999_676 * 814;
    expect(order.paidAmount * gross).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    expect(Math.floor((order.paidAmount * gross) / totalAmount)).toBe(81_399_612_367);

    const first = order.cancel([{ productId: 1, quantity: 814 }], later);
    expect(first.cancellation.refundAmount).toBe(81_399_612_366);

    const rest = first.order.cancel(undefined, evening);
    expect(first.cancellation.refundAmount + rest.cancellation.refundAmount).toBe(order.paidAmount);
    expect(rest.order.refundedAmount).toBe(order.paidAmount);
  });

  it('refunds nothing of an order of 0', () => {
    expect(refundedTotal(0, 0, 0)).toBe(0);
  });

  it('adds up to exactly the paid amount over any sequence of partial cancellations', () => {
    const anOrder = fc
      .array(
        fc.record({
          price: fc.integer({ min: 1, max: MAX_PRICE }),
          quantity: fc.integer({ min: 1, max: MAX_LINE_QUANTITY }),
        }),
        {
          minLength: 1,
          maxLength: 6,
        },
      )
      .chain((specs) => {
        const total = specs.reduce((sum, { price, quantity }) => sum + price * quantity, 0);
        return fc.record({
          specs: fc.constant(specs),
          discount: fc.oneof(fc.constantFrom(0, total), fc.integer({ min: 0, max: total })),
        });
      });
    // Each step names some lines (by index, modulo the count) and how many of what is left to take (modulo).
    const steps = fc.array(fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 4 }), { maxLength: 12 });

    fc.assert(
      fc.property(anOrder, steps, ({ specs, discount }, picks) => {
        const lines = specs.map(({ price, quantity }, i) => ({
          productId: i + 1,
          name: `p${i + 1}`,
          quantity,
          unitPrice: price,
          amount: price * quantity,
        }));
        const totalAmount = lines.reduce((sum, line) => sum + line.amount, 0);
        const paidAmount = totalAmount - discount;
        let order = new Order({
          id: 44,
          userId: 5,
          lines,
          totalAmount,
          discountAmount: discount,
          paidAmount,
          userCouponId: null,
          createdAt: at,
        });
        const left = lines.map((line) => line.quantity);
        let gross = 0;
        let refunds = 0;
        const cancel = (items: OrderItem[] | undefined, when: Date) => {
          const { order: after, cancellation } = order.cancel(items, when);
          for (const { productId, quantity } of cancellation.lines) {
            left[productId - 1] = (left[productId - 1] ?? 0) - quantity;
            gross += quantity * (lines[productId - 1]?.unitPrice ?? Number.NaN);
          }
          expect(Number.isSafeInteger(cancellation.refundAmount) && cancellation.refundAmount >= 0).toBe(true);
          refunds += cancellation.refundAmount;
          expect(after.refundedAmount).toBe(refunds);
          expect(after.refundedAmount).toBe(Number((BigInt(paidAmount) * BigInt(gross)) / BigInt(totalAmount)));
          expect(after.lineViews.map((line) => line.cancellableQuantity)).toEqual(left);
          order = after;
        };

        for (const step of picks) {
          const items = new Map<number, number>();
          for (const [line, take] of step) {
            const index = line % lines.length;
            const remaining = left[index] ?? 0;
            if (remaining > 0 && !items.has(index)) items.set(index, 1 + (take % remaining));
          }
          if (items.size === 0) continue;
          cancel(
            [...items].map(([index, quantity]) => ({ productId: index + 1, quantity })),
            later,
          );
          expect(order.status).toBe(left.every((units) => units === 0) ? 'CANCELLED' : 'PARTIALLY_CANCELLED');
        }
        if (order.status !== 'CANCELLED') cancel(undefined, evening);

        expect(refunds).toBe(paidAmount);
        expect(order.status).toBe('CANCELLED');
        expect(order.cancelledAt).toEqual(order.cancellations.at(-1)?.createdAt);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Order.cancel refusals', () => {
  const cancelled = () => paidOrder().cancel(undefined, later).order;

  it('refuses an order with nothing left, naming the order', () => {
    expect(() => cancelled().cancel(undefined, evening)).toThrow(OrderNotCancellableError);
    expect(() => cancelled().cancel(undefined, evening)).toThrow(notCancellable({ orderId: 44 }));
    expect(() => cancelled().cancel([{ productId: 1, quantity: 1 }], evening)).toThrow(notCancellable({ orderId: 44 }));
  });

  it('refuses a product not in the order: none of it is cancellable', () => {
    expect(() => paidOrder().cancel([{ productId: 3, quantity: 1 }], later)).toThrow(
      notCancellable({ orderId: 44, productId: 3, requested: 1, cancellable: 0 }),
    );
  });

  it('refuses more than is left of a line, naming what is', () => {
    const partly = paidOrder().cancel([{ productId: 1, quantity: 1 }], later).order;
    expect(() => partly.cancel([{ productId: 1, quantity: 2 }], evening)).toThrow(
      notCancellable({ orderId: 44, productId: 1, requested: 2, cancellable: 1 }),
    );
  });

  it('refuses a line already cancelled in full, with 0 cancellable', () => {
    const partly = paidOrder().cancel([{ productId: 2, quantity: 1 }], later).order;
    expect(() => partly.cancel([{ productId: 2, quantity: 1 }], evening)).toThrow(
      notCancellable({ orderId: 44, productId: 2, requested: 1, cancellable: 0 }),
    );
  });

  it('answers a quantity past the order limit as more than is left, not as a malformed request', () => {
    expect(() => paidOrder().cancel([{ productId: 1, quantity: 5_000 }], later)).toThrow(
      notCancellable({ orderId: 44, productId: 1, requested: 5_000, cancellable: 2 }),
    );
  });

  it('judges the lines in the order given: the first that fails is the error', () => {
    const badProduct = { productId: 3, quantity: 1 };
    const tooMany = { productId: 1, quantity: 3 };
    const fine = { productId: 2, quantity: 1 };
    expect(() => paidOrder().cancel([fine, badProduct, tooMany], later)).toThrow(
      notCancellable({ orderId: 44, productId: 3, requested: 1, cancellable: 0 }),
    );
    expect(() => paidOrder().cancel([fine, tooMany, badProduct], later)).toThrow(
      notCancellable({ orderId: 44, productId: 1, requested: 3, cancellable: 2 }),
    );
  });

  it.each([
    ['no lines', [], 'items'],
    ['51 lines', Array.from({ length: 51 }, (_, i) => ({ productId: i + 1, quantity: 1 })), 'items'],
    [
      'a repeated product',
      [
        { productId: 1, quantity: 1 },
        { productId: 1, quantity: 1 },
      ],
      'items.1.productId',
    ],
    ['a product id of 0', [{ productId: 0, quantity: 1 }], 'items.0.productId'],
    ['a fractional product id', [{ productId: 1.5, quantity: 1 }], 'items.0.productId'],
    ['a quantity of 0', [{ productId: 1, quantity: 0 }], 'items.0.quantity'],
    ['a negative quantity', [{ productId: 1, quantity: -1 }], 'items.0.quantity'],
    ['a fractional quantity', [{ productId: 1, quantity: 1.5 }], 'items.0.quantity'],
    ['a quantity of NaN', [{ productId: 1, quantity: Number.NaN }], 'items.0.quantity'],
  ])('refuses %s as malformed', (_label, items, field) => {
    expect(() => paidOrder().cancel(items, later)).toThrow(InvalidInputError);
    expect(() => paidOrder().cancel(items, later)).toThrow(expect.objectContaining({ field }));
  });

  it('checks the shape of every line before judging any against the order', () => {
    const items = [
      { productId: 3, quantity: 1 },
      { productId: 1, quantity: 0 },
    ];
    expect(() => paidOrder().cancel(items, later)).toThrow(expect.objectContaining({ field: 'items.1.quantity' }));
  });

  it('answers a malformed request before saying nothing is left', () => {
    expect(() => cancelled().cancel([], evening)).toThrow(InvalidInputError);
  });
});

describe('Order cancellations as loaded', () => {
  const stored: Cancellation = {
    id: 7,
    orderId: 44,
    lines: [{ productId: 2, quantity: 1, unitPrice: 28_000, amount: 28_000 }],
    refundAmount: 25_200,
    createdAt: later,
  };

  it('derives the status, the refunds and what is left from the stored cancellations', () => {
    const order = new Order({ ...paidOrder(), status: 'PARTIALLY_CANCELLED', cancellations: [stored] });
    expect({ status: order.status, refunded: order.refundedAmount, cancelledAt: order.cancelledAt }).toEqual({
      status: 'PARTIALLY_CANCELLED',
      refunded: 25_200,
      cancelledAt: null,
    });
    expect(order.lineViews.map((line) => line.cancellableQuantity)).toEqual([2, 0]);
    expect(order.cancel(undefined, evening).cancellation.refundAmount).toBe(21_600);
  });

  it('refuses a stored status its cancellations contradict', () => {
    expect(() => new Order({ ...paidOrder(), status: 'PAID', cancellations: [stored] })).toThrow(/PAID/);
    expect(() => new Order({ ...paidOrder(), status: 'CANCELLED' })).toThrow(/CANCELLED/);
  });
});

describe('Order.cancelledEvent', () => {
  it('describes a cancellation for the data platform: what was taken back, the refund and when', () => {
    const first = paidOrder().cancel([{ productId: 1, quantity: 1 }], later);
    const { order, cancellation } = first.order.cancel(undefined, evening);

    expect(order.cancelledEvent(cancellation)).toStrictEqual({
      orderId: 44,
      userId: 5,
      items: [
        { productId: 1, quantity: 1 },
        { productId: 2, quantity: 1 },
      ],
      refundAmount: 36_000,
      cancelledAt: '2026-11-24T12:00:00.000Z',
    });
    expect(first.order.cancelledEvent(first.cancellation).cancelledAt).toBe('2026-11-24T08:00:00.000Z');
  });

  it('refuses a cancellation of another order', () => {
    const { cancellation } = paidOrder().cancel(undefined, later);
    const other = new Order({ ...paidOrder(), id: 45 });
    expect(() => other.cancelledEvent(cancellation)).toThrow(/order 44/);
  });
});
