import type { TransactionalRepositories, UnitOfWork } from '../../application/ports/unit-of-work.js';
import { InMemoryBalanceRepository } from './in-memory-balance-repository.js';
import { InMemoryCouponRepository } from './in-memory-coupon-repository.js';
import { InMemoryProductRepository } from './in-memory-product-repository.js';
import type { InMemoryStore } from './in-memory-store.js';
import { InMemoryUserRepository } from './in-memory-user-repository.js';

/**
 * Runs one unit of work at a time (the fakes have no row locks, so serialising is what keeps them
 * honest) and restores the store's snapshot when the work throws, like a rollback.
 */
export class InMemoryUnitOfWork implements UnitOfWork {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: InMemoryStore) {}

  run<T>(work: (repos: TransactionalRepositories) => Promise<T>): Promise<T> {
    const result = this.tail.then(() => this.runNow(work));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async runNow<T>(work: (repos: TransactionalRepositories) => Promise<T>): Promise<T> {
    const snapshot = structuredClone(this.store.state);
    try {
      return await work({
        users: new InMemoryUserRepository(this.store),
        balances: new InMemoryBalanceRepository(this.store),
        products: new InMemoryProductRepository(this.store),
        coupons: new InMemoryCouponRepository(this.store),
      });
    } catch (error) {
      this.store.state = snapshot;
      throw error;
    }
  }
}
