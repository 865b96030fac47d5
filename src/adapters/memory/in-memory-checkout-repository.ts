import type {
  Checkout,
  CheckoutRequest,
  CheckoutRepository,
  Placement,
} from '../../application/ports/checkout-repository.js';
import type { Product } from '../../domain/product/product.js';
import { InMemoryBalanceRepository } from './in-memory-balance-repository.js';
import { InMemoryCouponRepository } from './in-memory-coupon-repository.js';
import type { InMemoryOutbox } from './in-memory-outbox.js';
import { InMemoryProductRepository } from './in-memory-product-repository.js';
import { InMemorySales } from './in-memory-sales.js';
import type { InMemoryStore } from './in-memory-store.js';
import { InMemoryUserRepository } from './in-memory-user-repository.js';

/**
 * The checkout on the fakes, made of the other in-memory repositories. Units of work run one at a time here,
 * so nothing changes between `open` and `place`; `place` still checks, as the database does.
 */
export class InMemoryCheckoutRepository implements CheckoutRepository {
  private readonly productRepository: InMemoryProductRepository;

  constructor(
    private readonly store: InMemoryStore,
    private readonly outbox: InMemoryOutbox,
  ) {
    this.productRepository = new InMemoryProductRepository(store);
  }

  async open({ userId, userCouponId, productIds }: CheckoutRequest): Promise<Checkout> {
    return {
      userExists: await new InMemoryUserRepository(this.store).exists(userId),
      coupon:
        userCouponId === undefined
          ? undefined
          : await new InMemoryCouponRepository(this.store).getByIdForUpdate(userCouponId),
      balance: await new InMemoryBalanceRepository(this.store).getByUserIdForUpdate(userId),
      products: await this.products(productIds),
      orderId: this.store.nextId('orders'),
    };
  }

  products(productIds: readonly number[]): Promise<ReadonlyMap<number, Product>> {
    return this.productRepository.getManyForUpdate(productIds);
  }

  async place({ order, payment, couponUsed, stock, salesDay }: Placement): Promise<boolean> {
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
