import { CouponNotUsableError } from '../../domain/coupon/coupon-errors.js';
import { Order, type OrderItem, validateItems } from '../../domain/order/order.js';
import { ProductNotFoundError } from '../../domain/product/product-errors.js';
import { localDateOf } from '../../domain/statistics/shop-calendar.js';
import { UserNotFoundError } from '../../domain/user/user-errors.js';
import { type Actor, assertMayActFor } from '../shared/actor.js';
import type { Checkout, CheckoutRepository, Placement } from '../ports/checkout-repository.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';

export interface PlaceOrderInput {
  readonly actor: Actor;
  readonly userId: number;
  readonly items: readonly OrderItem[];
  readonly userCouponId?: number | undefined;
}

/**
 * One step takes the stock, uses the coupon, debits the balance and records the payment, the outbox event
 * and the day's sales, or does none of it.
 *
 * First the order is decided on an unlocked read, and one statement that commits by itself writes it only
 * if nothing it was decided on has changed: the balance, the coupon copy's state, each product's stock and
 * price. So no row is held across a round trip to this process, and a flash sale's product row only for
 * that statement. A refusal read on that snapshot is final: it was true when read.
 *
 * When something changed in between, the order is decided again in a unit of work, on the buyer's own rows
 * locked (coupon copy, then balance: only the buyer's own requests wait on them) and the products read
 * without a lock; the same statement then takes the products, and keeps them locked to the commit even
 * when one changed again, so the decision made on them as they are then stands: never oversold nor priced
 * at a stale price.
 *
 * Both paths take the buyer's rows and then the products in the global lock order, which the PostgreSQL
 * adapter states once (buyer-rows.ts).
 */
export class PlaceOrder {
  constructor(
    private readonly uow: UnitOfWork,
    /** Outside a unit of work: each call a step of its own. */
    private readonly checkouts: CheckoutRepository,
    private readonly clock: Clock,
    /** The shop's time zone: sales are counted on its days. */
    private readonly timeZone: string,
  ) {}

  async execute({ actor, userId, items, userCouponId }: PlaceOrderInput): Promise<Order> {
    assertMayActFor(actor, userId);
    validateItems(items);
    const at = this.clock.now();
    const productIds = items.map((item) => item.productId).sort((a, b) => a - b);
    const request = { userId, userCouponId, productIds };
    const order = { userId, items, userCouponId, at };

    const guess = this.decide(order, await this.checkouts.peek(request));
    if (await this.checkouts.place(guess)) return guess.order;

    return this.uow.run(async (repos) => {
      const checkout = await repos.checkouts.open(request);
      const first = this.decide(order, checkout);
      if (await repos.checkouts.place(first)) return first.order;
      const products = await repos.checkouts.products(productIds);
      const second = this.decide(order, { ...checkout, products });
      if (await repos.checkouts.place(second)) return second.order;
      throw new Error(`order for user ${userId}: its products changed while this order held them`);
    });
  }

  /** The whole order, decided by the domain on what the checkout read, checks in the contract's order. */
  private decide(
    { userId, items, userCouponId, at }: Omit<PlaceOrderInput, 'actor'> & { at: Date },
    checkout: Checkout,
  ): Placement {
    if (!checkout.userExists || !checkout.balance) throw new UserNotFoundError(userId);
    const { balance } = checkout;
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
    return {
      order,
      balanceBefore: balance.amount,
      payment: balance.pay(order.paidAmount, order.id, at),
      couponUsed: coupon?.use(userId, order.id, at),
      stock: lines
        .map(({ product, quantity }) => ({ productId: product.id, quantity, price: product.price }))
        .sort((a, b) => a.productId - b.productId),
      salesDay: localDateOf(at, this.timeZone),
    };
  }
}
