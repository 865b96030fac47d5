import { describe, expect, it } from 'vitest';
import { UserCoupon } from '../../../src/domain/coupon/user-coupon.js';
import { Order, repeatedProductLine, validateItems } from '../../../src/domain/order/order.js';
import { Product } from '../../../src/domain/product/product.js';
import { InvalidInputError } from '../../../src/domain/shared/domain-error.js';

const at = new Date('2026-11-24T07:00:00.000Z');
const mug = new Product({ id: 1, name: 'Mug', price: 12_000, stock: 10 });
const beans = new Product({ id: 2, name: 'Beans', price: 28_000, stock: 10 });

function copy(discountType: 'FIXED' | 'PERCENT', discountValue: number) {
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

describe('Order.place', () => {
  it('prices each line at the current price and adds them up', () => {
    const draft = Order.place({
      userId: 5,
      lines: [
        { product: mug, quantity: 2 },
        { product: beans, quantity: 1 },
      ],
      at,
    });
    expect(draft).toEqual({
      userId: 5,
      status: 'PAID',
      lines: [
        { productId: 1, name: 'Mug', quantity: 2, unitPrice: 12_000, amount: 24_000 },
        { productId: 2, name: 'Beans', quantity: 1, unitPrice: 28_000, amount: 28_000 },
      ],
      totalAmount: 52_000,
      discountAmount: 0,
      paidAmount: 52_000,
      userCouponId: null,
      createdAt: at,
    });
  });

  it.each([
    ['FIXED below the total', 'FIXED', 5_000, 24_000, 5_000],
    ['FIXED above the total, capped', 'FIXED', 30_000, 24_000, 24_000],
    ['PERCENT, rounded down', 'PERCENT', 15, 24_000, 3_600],
    ['PERCENT of 100', 'PERCENT', 100, 24_000, 24_000],
  ] as const)('applies a %s', (_label, type, value, total, discount) => {
    const draft = Order.place({
      userId: 5,
      lines: [{ product: mug, quantity: total / 12_000 }],
      coupon: copy(type, value),
      at,
    });
    expect({ discount: draft.discountAmount, paid: draft.paidAmount, coupon: draft.userCouponId }).toEqual({
      discount,
      paid: total - discount,
      coupon: 9,
    });
  });

  it('rounds a PERCENT discount down to the won', () => {
    const odd = new Product({ id: 7, name: 'Odd', price: 9_999, stock: 5 });
    expect(
      Order.place({ userId: 5, lines: [{ product: odd, quantity: 1 }], coupon: copy('PERCENT', 15), at })
        .discountAmount,
    ).toBe(1_499);
  });

  it('describes the paid order for the data platform', () => {
    const draft = Order.place({ userId: 5, lines: [{ product: mug, quantity: 1 }], coupon: copy('FIXED', 2_000), at });
    expect(new Order({ ...draft, id: 44 }).paidEvent()).toEqual({
      orderId: 44,
      userId: 5,
      items: draft.lines,
      totalAmount: 12_000,
      discountAmount: 2_000,
      paidAmount: 10_000,
      paidAt: '2026-11-24T07:00:00.000Z',
    });
  });
});

describe('Order', () => {
  const placed = () =>
    new Order({
      ...Order.place({
        userId: 5,
        lines: [
          { product: mug, quantity: 2 },
          { product: beans, quantity: 1 },
        ],
        at,
      }),
      id: 44,
    });

  it('is PAID when placed, with nothing cancelled or refunded', () => {
    const order = placed();
    expect({
      status: order.status,
      cancellations: order.cancellations,
      refundedAmount: order.refundedAmount,
      cancelledAt: order.cancelledAt,
    }).toEqual({ status: 'PAID', cancellations: [], refundedAmount: 0, cancelledAt: null });
  });

  it('shows every line as sold, none of it cancelled, all of it cancellable', () => {
    expect(placed().lineViews).toEqual([
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
        cancelledQuantity: 0,
        cancellableQuantity: 1,
      },
    ]);
  });

  it('needs no stored status: it is derived', () => {
    const { status: _status, ...draft } = Order.place({ userId: 5, lines: [{ product: mug, quantity: 1 }], at });
    expect(new Order({ ...draft, id: 44 }).status).toBe('PAID');
  });
});

describe('validateItems', () => {
  it.each([
    ['no lines', [], 'items'],
    ['51 lines', Array.from({ length: 51 }, (_, i) => ({ productId: i + 1, quantity: 1 })), 'items'],
    [
      'a repeated product',
      [
        { productId: 1, quantity: 1 },
        { productId: 1, quantity: 2 },
      ],
      'items.1.productId',
    ],
    ['a quantity of 0', [{ productId: 1, quantity: 0 }], 'items.0.quantity'],
    ['a quantity of 1,001', [{ productId: 1, quantity: 1_001 }], 'items.0.quantity'],
    ['a fractional quantity', [{ productId: 1, quantity: 1.5 }], 'items.0.quantity'],
  ])('refuses %s', (_label, items, field) => {
    expect(() => validateItems(items)).toThrow(InvalidInputError);
    expect(() => validateItems(items)).toThrow(expect.objectContaining({ field }));
  });

  it('accepts 50 distinct lines of up to 1,000 units', () => {
    expect(() =>
      validateItems(Array.from({ length: 50 }, (_, i) => ({ productId: i + 1, quantity: 1_000 }))),
    ).not.toThrow();
  });
});

describe('repeatedProductLine', () => {
  it.each([
    ['no lines', [], undefined],
    ['distinct products', [1, 2, 3], undefined],
    ['a product on the second line again', [4, 4, 5], 1],
    ['the first repeat when there are two', [1, 2, 1, 2], 2],
  ])('%s: %s', (_label, productIds, expected) => {
    expect(repeatedProductLine(productIds.map((productId) => ({ productId })))).toBe(expected);
  });
});
