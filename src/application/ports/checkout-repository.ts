import type { Balance, BalanceChange } from '../../domain/balance/balance.js';
import type { UserCoupon } from '../../domain/coupon/user-coupon.js';
import type { Order } from '../../domain/order/order.js';
import type { Product } from '../../domain/product/product.js';
import type { LocalDate } from '../../domain/statistics/shop-calendar.js';

export interface CheckoutRequest {
  readonly userId: number;
  readonly userCouponId?: number | undefined;
  /** Ascending. */
  readonly productIds: readonly number[];
}

/**
 * What an order is decided on: the buyer's balance and named coupon copy, and the products. From `open`
 * the buyer's own rows are locked (the coupon copy, then the balance), so only the buyer's own requests
 * wait on them; from `peek` nothing is. The products, which every buyer shares, are never locked here:
 * `place` takes them only if they are still as read.
 */
export interface Checkout {
  readonly userExists: boolean;
  readonly balance: Balance | undefined;
  /** Only when the request names one, and only the buyer's own. */
  readonly coupon: UserCoupon | undefined;
  readonly products: ReadonlyMap<number, Product>;
  /** The id the order will have: reserved now, so the order's event can be written with the rest. */
  readonly orderId: number;
}

/** One line's claim on a product's stock, at the price the order was priced at. */
export interface StockClaim {
  readonly productId: number;
  readonly quantity: number;
  readonly price: number;
}

/** Everything an order writes, decided by the domain. */
export interface Placement {
  readonly order: Order;
  /** The balance the payment was decided on. */
  readonly balanceBefore: number;
  readonly payment: BalanceChange;
  /** The copy, marked used by this order. */
  readonly couponUsed?: UserCoupon | undefined;
  /** Ascending by product id. */
  readonly stock: readonly StockClaim[];
  /** The shop's day the units count for. */
  readonly salesDay: LocalDate;
}

/**
 * An order's reads and writes, shaped so the shared rows are held briefly. Used both inside a unit of work
 * and outside one, where each call is a step that commits by itself (joining a unit of work the caller's
 * chain has open, such as an Idempotency-Key's).
 */
export interface CheckoutRepository {
  /** Reads what the order is decided on, locking nothing. */
  peek(request: CheckoutRequest): Promise<Checkout>;
  /** Inside a unit of work: locks the buyer's coupon copy and then their balance, and reads the products. */
  open(request: CheckoutRequest): Promise<Checkout>;
  /** The products afresh, for a second decision after `place` found them changed (and so took them). */
  products(productIds: readonly number[]): Promise<ReadonlyMap<number, Product>>;
  /**
   * Writes the placement in one step if what it was decided on still holds: the balance is still
   * `balanceBefore`, the coupon copy (if any) still unused, and every product still has the stock and the
   * price it was decided on; reports whether it did. When something has changed, nothing is written; the
   * buyer's rows and the products it got to stay taken until the step, or the unit of work, ends, so a
   * second decision inside a unit of work can't be overtaken.
   */
  place(placement: Placement): Promise<boolean>;
}
