import { OrderNotFoundError } from '../../domain/order/order-errors.js';
import { type Order, type OrderItem, validateCancellationItems } from '../../domain/order/order.js';
import { StockLimitExceededError } from '../../domain/product/product-errors.js';
import { localDateOf } from '../../domain/statistics/shop-calendar.js';
import { type Actor, mayActFor } from '../shared/actor.js';
import type { CancellationRecord, CancellationTarget } from '../ports/cancellation-repository.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';

export interface CancelOrderInput {
  readonly actor: Actor;
  readonly orderId: number;
  /** What to cancel; everything not yet cancelled when undefined. */
  readonly items?: readonly OrderItem[] | undefined;
}

/**
 * One transaction: the cancelled units back to stock, the refund to the balance with its REFUND entry, the
 * coupon copy released once nothing of the order is left, the units taken off the day they were sold, and
 * the data platform's event, or none of it. The order decides what may be cancelled and what it refunds
 * (the contract's cumulative formula); this use case only takes the rows and hands the decision over.
 *
 * Locks: the order's row first, so cancellations of one order queue there and each decides on every one
 * before it; then the rest in the global lock order every use case follows (stated once, in the PostgreSQL
 * adapter's buyer-rows.ts), so a cancellation and an order or a charge never wait on each other in a cycle.
 * The order's user or an admin may cancel; to any other customer the order does not exist.
 */
export class CancelOrder {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
    /** The shop's time zone: the units leave the sales of the shop's day the order was placed on. */
    private readonly timeZone: string,
  ) {}

  async execute({ actor, orderId, items }: CancelOrderInput): Promise<Order> {
    // Malformed items are a 400 before anything is read (a missing order would otherwise answer first).
    if (items !== undefined) validateCancellationItems(items);
    const at = this.clock.now();

    return this.uow.run(async (repos) => {
      // A customer opens only their own orders: one naming another's locks none of that customer's rows.
      const target = await repos.cancellations.open(orderId, actor.role === 'CUSTOMER' ? actor.userId : undefined);
      if (!target || !mayActFor(actor, target.order.userId)) throw new OrderNotFoundError(orderId);
      const record = decideCancellation(target, items, at, this.timeZone);
      const written = await repos.cancellations.record(record);
      if ('stockLimit' in written) throw new StockLimitExceededError(written.stockLimit);
      return record.order;
    });
  }
}

/**
 * What cancelling `items` of an opened order (everything left when undefined) writes, as the domain decides
 * it: the cancellation, its refund, the copy released once nothing is left, the day's units and the event.
 */
export function decideCancellation(
  { order, balance, coupon }: CancellationTarget,
  items: readonly OrderItem[] | undefined,
  at: Date,
  timeZone: string,
): CancellationRecord {
  const { order: after, cancellation } = order.cancel(items, at);
  return {
    order: after,
    cancellation,
    refund: balance.refund(cancellation.refundAmount, order.id, at),
    couponReleased: after.status === 'CANCELLED' && coupon ? coupon.release(order.id) : undefined,
    salesDay: localDateOf(order.createdAt, timeZone),
    event: after.cancelledEvent(cancellation),
  };
}
