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
 * What an order is decided on. The buyer's own rows are locked (the coupon copy, then the balance): only the
 * buyer's own requests wait on them. The products, which every buyer shares, are not: they are read as they
 * are, and `place` takes them only if they are still so.
 */
export interface Checkout {
  readonly userExists: boolean;
  /** Locked. */
  readonly balance: Balance | undefined;
  /** Locked; only when the request names one. */
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
  readonly payment: BalanceChange;
  /** The copy, marked used by this order. */
  readonly couponUsed?: UserCoupon | undefined;
  /** Ascending by product id. */
  readonly stock: readonly StockClaim[];
  /** The shop's day the units count for. */
  readonly salesDay: LocalDate;
}

/** Inside a unit of work: an order's reads and writes, shaped so the shared rows are held briefly. */
export interface CheckoutRepository {
  /** Locks the buyer's coupon copy and then their balance, and reads the products. */
  open(request: CheckoutRequest): Promise<Checkout>;
  /** The products afresh, for a second decision after `place` found them changed (and so took them). */
  products(productIds: readonly number[]): Promise<ReadonlyMap<number, Product>>;
  /**
   * Takes the order's products and writes the placement, in one step, if every product still has the stock
   * and the price it was decided on; reports whether it did. When one has not, nothing is written, and the
   * products stay taken by this unit of work until it ends, so a second decision on them can't be
   * overtaken.
   */
  place(placement: Placement): Promise<boolean>;
}
