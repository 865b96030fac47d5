import type { UserCoupon } from '../../domain/coupon/user-coupon.js';
import { CouponNotUsableError } from '../../domain/coupon/coupon-errors.js';
import { Order, type OrderItem, validateItems } from '../../domain/order/order.js';
import { ProductNotFoundError } from '../../domain/product/product-errors.js';
import { localDateOf } from '../../domain/statistics/shop-calendar.js';
import { UserNotFoundError } from '../../domain/user/user-errors.js';
import { type Actor, assertMayActFor } from '../shared/actor.js';
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
 * outbox event and the day's sales, or does none of it. Locks are taken in one global order (products by
 * ascending id, then the coupon copy, then the balance), the same in every use case that takes more than
 * one, so two orders can't deadlock. Checks run in the contract's order of precedence.
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

    return this.uow.run(async (repos) => {
      if (!(await repos.users.exists(userId))) throw new UserNotFoundError(userId);

      const products = await repos.products.getManyForUpdate(items.map((item) => item.productId).sort((a, b) => a - b));
      const lines = items.map(({ productId, quantity }) => {
        const product = products.get(productId);
        if (!product) throw new ProductNotFoundError(productId);
        return { product, quantity };
      });
      const taken = lines.map(({ product, quantity }) => product.take(quantity));

      let coupon: UserCoupon | undefined;
      if (userCouponId !== undefined) {
        coupon = await repos.userCoupons.getByIdForUpdate(userCouponId);
        if (!coupon) throw new CouponNotUsableError({ userCouponId, reason: 'NOT_FOUND' });
        coupon.assertUsableBy(userId, at);
      }

      // The order row comes first because the payment names it; if the balance is short, the rollback
      // takes the order with it.
      const order = await repos.orders.add(Order.place({ userId, lines, coupon, at }));
      const balance = await repos.balances.getByUserIdForUpdate(userId);
      if (!balance) throw new UserNotFoundError(userId);
      await repos.balances.save(balance.pay(order.paidAmount, order.id, at));
      await repos.products.saveStock(taken, at);
      if (coupon) await repos.userCoupons.save(coupon.use(userId, order.id, at));
      await repos.outbox.add(order.paidEvent());
      await repos.sales.add(localDateOf(at, this.timeZone), items);
      return order;
    });
  }
}
