import type { Balance, BalanceChange } from '../../domain/balance/balance.js';
import type { UserCoupon } from '../../domain/coupon/user-coupon.js';
import type { Cancellation, CancellationDraft } from '../../domain/order/cancellation.js';
import type { Order, OrderCancelledEvent } from '../../domain/order/order.js';
import type { StockLimitFacts } from '../../domain/product/product-errors.js';
import type { LocalDate } from '../../domain/statistics/shop-calendar.js';

/** An order opened for cancellation: it, its coupon copy and its buyer's balance, locked in that order. */
export interface CancellationTarget {
  /** With every cancellation it has had, read once the order's row is locked. */
  readonly order: Order;
  /** Locked. */
  readonly balance: Balance;
  /** Locked; the copy that paid for the order, if one did. */
  readonly coupon: UserCoupon | undefined;
}

/** Everything a cancellation writes, decided by the domain. */
export interface CancellationRecord {
  /** The order as it is after this cancellation (its status is stored). */
  readonly order: Order;
  readonly cancellation: CancellationDraft;
  /** The refund and its REFUND entry; none when the refund is 0. */
  readonly refund: BalanceChange | undefined;
  /** The copy made AVAILABLE again, when nothing of the order is left. */
  readonly couponReleased: UserCoupon | undefined;
  /** The shop's day the order was sold on: the units leave that day's sales. */
  readonly salesDay: LocalDate;
  readonly event: OrderCancelledEvent;
}

/** Why a cancellation could not be written though the domain allowed it: the first product over its limit. */
export type RecordRefusal = { readonly stockLimit: StockLimitFacts };

/** Inside a unit of work: a cancellation's reads and writes. */
export interface CancellationRepository {
  /**
   * Locks the order's row, then its coupon copy, then its buyer's balance (the global lock order), and reads
   * the order with its cancellations once its row is held; undefined when there is no such order, or when
   * `buyerId` is given and the order is not theirs (then nothing is locked: a customer naming someone else's
   * order must not hold that customer's rows).
   */
  open(orderId: number, buyerId?: number): Promise<CancellationTarget | undefined>;
  /**
   * Writes the cancellation in one step: its products locked in ascending id order and their units put back
   * (a stock adjustment of reason CANCELLATION each), the refund, the copy released, the order's status, the
   * units taken off the day's sales and the outbox event. A product whose stock would pass its limit writes
   * nothing and is reported.
   */
  record(record: CancellationRecord): Promise<Cancellation | RecordRefusal>;
}
