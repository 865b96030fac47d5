import type {
  Checkout,
  CheckoutRequest,
  CheckoutRepository,
  Placement,
} from '../../application/ports/checkout-repository.js';
import type { UnitOfWork } from '../../application/ports/unit-of-work.js';
import type { UserCoupon } from '../../domain/coupon/user-coupon.js';
import type { Product } from '../../domain/product/product.js';
import type { InMemoryOutbox } from './in-memory-outbox.js';
import {
  addDailySales,
  balanceRow,
  landBalanceChange,
  productRows,
  userCouponRow,
  writeCouponUse,
} from './in-memory-rows.js';
import type { InMemoryStore } from './in-memory-store.js';

/**
 * The checkout on the fakes, made of the other in-memory repositories, inside an in-memory unit of work.
 * Units of work run one at a time here, so nothing changes between `open` and `place`; `place` still
 * checks, as the database does, and between `peek` and `place` (each a step of its own, see
 * InMemoryCheckoutSteps) anything may.
 */
export class InMemoryCheckoutRepository implements CheckoutRepository {
  constructor(
    private readonly store: InMemoryStore,
    private readonly outbox: InMemoryOutbox,
  ) {}

  /** No locks here: the same read as `open`. */
  peek(request: CheckoutRequest): Promise<Checkout> {
    return this.open(request);
  }

  async open({ userId, userCouponId, productIds }: CheckoutRequest): Promise<Checkout> {
    return {
      userExists: this.store.state.users.has(userId),
      coupon: this.copyOf(userId, userCouponId),
      balance: balanceRow(this.store, userId),
      products: productRows(this.store, productIds),
      orderId: this.store.nextId('orders'),
    };
  }

  /** The buyer's own copy: another user's is not theirs, and reads as none (as PostgreSQL's adapter has it). */
  private copyOf(userId: number, userCouponId: number | undefined): UserCoupon | undefined {
    if (userCouponId === undefined) return undefined;
    const copy = userCouponRow(this.store, userCouponId);
    return copy?.userId === userId ? copy : undefined;
  }

  async products(productIds: readonly number[]): Promise<ReadonlyMap<number, Product>> {
    return productRows(this.store, productIds);
  }

  async place({ order, balanceBefore, payment, couponUsed, stock, salesDay }: Placement): Promise<boolean> {
    if (this.store.state.balances.get(order.userId)?.amount !== balanceBefore) return false;
    const copy = couponUsed && this.store.state.userCoupons.get(couponUsed.id);
    if (couponUsed && (copy?.userId !== order.userId || copy.usedAt !== null)) return false;
    const current = productRows(
      this.store,
      stock.map((claim) => claim.productId),
    );
    const fits = stock.every((claim) => {
      const product = current.get(claim.productId);
      return product !== undefined && product.stock >= claim.quantity && product.price === claim.price;
    });
    if (!fits) return false;
    for (const claim of stock) {
      const taken = current.get(claim.productId)!.take(claim.quantity);
      this.store.state.products.set(taken.id, { ...taken });
    }
    this.store.state.orders.set(order.id, { ...order, lines: [...order.lines] });
    landBalanceChange(this.store, payment);
    if (couponUsed) writeCouponUse(this.store, couponUsed);
    await this.outbox.add({ type: 'ORDER_PAID', body: order.paidEvent() });
    addDailySales(this.store, salesDay, stock, 1);
    return true;
  }
}

/** The checkout outside a unit of work: each call a unit of work of its own, so a step never interleaves. */
export class InMemoryCheckoutSteps implements CheckoutRepository {
  constructor(private readonly uow: UnitOfWork) {}

  peek(request: CheckoutRequest): Promise<Checkout> {
    return this.uow.run((repos) => repos.checkouts.peek(request));
  }

  open(request: CheckoutRequest): Promise<Checkout> {
    return this.uow.run((repos) => repos.checkouts.open(request));
  }

  products(productIds: readonly number[]): Promise<ReadonlyMap<number, Product>> {
    return this.uow.run((repos) => repos.checkouts.products(productIds));
  }

  place(placement: Placement): Promise<boolean> {
    return this.uow.run((repos) => repos.checkouts.place(placement));
  }
}
