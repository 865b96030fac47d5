import { CouponNotUsableError } from '../../domain/coupon/coupon-errors.js';
import { Order, type OrderItem, validateItems } from '../../domain/order/order.js';
import { ProductNotFoundError } from '../../domain/product/product-errors.js';
import { localDateOf } from '../../domain/statistics/shop-calendar.js';
import { UserNotFoundError } from '../../domain/user/user-errors.js';
import { type Actor, assertMayActFor } from '../shared/actor.js';
import type { Checkout, Placement } from '../ports/checkout-repository.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';

export interface PlaceOrderInput {
  readonly actor: Actor;
  readonly userId: number;
  readonly items: readonly OrderItem[];
  readonly userCouponId?: number | undefined;
}

/**
 * One transaction takes the stock, uses the coupon, debits the balance and records the payment, the
 * outbox event and the day's sales, or does none of it.
 *
 * The rows many orders share (the products) are held as briefly as the guarantees allow. The buyer's own
 * rows are locked first (coupon copy, then balance: only the buyer's own requests wait on them); the products are read without a lock, and the domain decides the whole order on them, in
 * the contract's order of checks. Then one statement takes the stock, guarded by the stock and price the
 * decision saw, and writes everything else; the products' locks last from that statement to the commit.
 * When a product changed in between (another order took its stock, a price moved), the statement writes
 * nothing but keeps the products locked, and the order is decided again on them as they are now: it is
 * never oversold nor priced at a stale price, and the second decision stands.
 *
 * The global lock order, the same in every use case that takes more than one: the order's row (a
 * cancellation's; an order has none yet), coupon copy, balance, products by ascending id.
 */
export class PlaceOrder {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
    /** The shop's time zone: sales are counted on its days. */
    private readonly timeZone: string,
  ) {}

  async execute({ actor, userId, items, userCouponId }: PlaceOrderInput): Promise<Order> {
    assertMayActFor(actor, userId);
    validateItems(items);
    const at = this.clock.now();
    const productIds = items.map((item) => item.productId).sort((a, b) => a - b);

    return this.uow.run(async (repos) => {
      const checkout = await repos.checkouts.open({ userId, userCouponId, productIds });
      if (!checkout.userExists || !checkout.balance) throw new UserNotFoundError(userId);
      const first = this.decide({ userId, items, userCouponId, at }, checkout);
      if (await repos.checkouts.place(first)) return first.order;
      const products = await repos.checkouts.products(productIds);
      const second = this.decide({ userId, items, userCouponId, at }, { ...checkout, products });
      if (await repos.checkouts.place(second)) return second.order;
      throw new Error(`order for user ${userId}: its products changed while this order held them`);
    });
  }

  /** The whole order, decided by the domain on what the checkout read, checks in the contract's order. */
  private decide(
    { userId, items, userCouponId, at }: Omit<PlaceOrderInput, 'actor'> & { at: Date },
    checkout: Checkout,
  ): Placement {
    const lines = items.map(({ productId, quantity }) => {
      const product = checkout.products.get(productId);
      if (!product) throw new ProductNotFoundError(productId);
      return { product, quantity };
    });
    for (const { product, quantity } of lines) product.take(quantity);

    const { coupon } = checkout;
    if (userCouponId !== undefined) {
      if (!coupon) throw new CouponNotUsableError({ userCouponId, reason: 'NOT_FOUND' });
      coupon.assertUsableBy(userId, at);
    }

    const order = new Order({ ...Order.place({ userId, lines, coupon, at }), id: checkout.orderId });
    if (!checkout.balance) throw new UserNotFoundError(userId);
    return {
      order,
      payment: checkout.balance.pay(order.paidAmount, order.id, at),
      couponUsed: coupon?.use(userId, order.id, at),
      stock: lines
        .map(({ product, quantity }) => ({ productId: product.id, quantity, price: product.price }))
        .sort((a, b) => a.productId - b.productId),
      salesDay: localDateOf(at, this.timeZone),
    };
  }
}
