import type {
  Checkout,
  CheckoutRequest,
  CheckoutRepository,
  Placement,
} from '../../application/ports/checkout-repository.js';
import type { UnitOfWork } from '../../application/ports/unit-of-work.js';
import type { UserCoupon } from '../../domain/coupon/user-coupon.js';
import type { Product } from '../../domain/product/product.js';
import { InMemoryBalanceRepository } from './in-memory-balance-repository.js';
import { InMemoryCouponRepository } from './in-memory-coupon-repository.js';
import type { InMemoryOutbox } from './in-memory-outbox.js';
import { InMemoryProductRepository } from './in-memory-product-repository.js';
import { InMemorySales } from './in-memory-sales.js';
import type { InMemoryStore } from './in-memory-store.js';
import { InMemoryUserRepository } from './in-memory-user-repository.js';

/**
 * The checkout on the fakes, made of the other in-memory repositories, inside an in-memory unit of work.
 * Units of work run one at a time here, so nothing changes between `open` and `place`; `place` still
 * checks, as the database does, and between `peek` and `place` (each a step of its own, see
 * InMemoryCheckoutSteps) anything may.
 */
export class InMemoryCheckoutRepository implements CheckoutRepository {
  private readonly productRepository: InMemoryProductRepository;

  constructor(
    private readonly store: InMemoryStore,
    private readonly outbox: InMemoryOutbox,
  ) {
    this.productRepository = new InMemoryProductRepository(store);
  }

  /** No locks here: the same read as `open`. */
  peek(request: CheckoutRequest): Promise<Checkout> {
    return this.open(request);
  }

  async open({ userId, userCouponId, productIds }: CheckoutRequest): Promise<Checkout> {
    return {
      userExists: await new InMemoryUserRepository(this.store).exists(userId),
      coupon: await this.copyOf(userId, userCouponId),
      balance: await new InMemoryBalanceRepository(this.store).getByUserIdForUpdate(userId),
      products: await this.products(productIds),
      orderId: this.store.nextId('orders'),
    };
  }

  /** The buyer's own copy: another user's is not theirs, and reads as none (as PostgreSQL's adapter has it). */
  private async copyOf(userId: number, userCouponId: number | undefined): Promise<UserCoupon | undefined> {
    if (userCouponId === undefined) return undefined;
    const copy = await new InMemoryCouponRepository(this.store).getByIdForUpdate(userCouponId);
    return copy?.userId === userId ? copy : undefined;
  }

  products(productIds: readonly number[]): Promise<ReadonlyMap<number, Product>> {
    return this.productRepository.getManyForUpdate(productIds);
  }

  async place({ order, balanceBefore, payment, couponUsed, stock, salesDay }: Placement): Promise<boolean> {
    if (this.store.state.balances.get(order.userId)?.amount !== balanceBefore) return false;
    const copy = couponUsed && this.store.state.userCoupons.get(couponUsed.id);
    if (couponUsed && (copy?.userId !== order.userId || copy.usedAt !== null)) return false;
    const current = await this.products(stock.map((claim) => claim.productId));
    const fits = stock.every((claim) => {
      const product = current.get(claim.productId);
      return product !== undefined && product.stock >= claim.quantity && product.price === claim.price;
    });
    if (!fits) return false;
    await this.productRepository.saveStock(stock.map((claim) => current.get(claim.productId)!.take(claim.quantity)));
    this.store.state.orders.set(order.id, { ...order, lines: [...order.lines] });
    await new InMemoryBalanceRepository(this.store).save(payment);
    if (couponUsed) await new InMemoryCouponRepository(this.store).save(couponUsed);
    await this.outbox.add({ type: 'ORDER_PAID', body: order.paidEvent() });
    await new InMemorySales(this.store).add(salesDay, stock);
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
