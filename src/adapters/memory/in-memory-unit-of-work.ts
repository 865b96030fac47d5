import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock } from '../../application/ports/clock.js';
import type { TransactionalRepositories, UnitOfWork } from '../../application/ports/unit-of-work.js';
import { systemClock } from '../system-clock.js';
import { InMemoryAccounts, InMemoryRefreshTokens } from './in-memory-accounts.js';
import { InMemoryAuditLog } from './in-memory-audit-log.js';
import { InMemoryBalanceRepository } from './in-memory-balance-repository.js';
import { InMemoryCancellationRepository } from './in-memory-cancellation-repository.js';
import { InMemoryCheckoutRepository } from './in-memory-checkout-repository.js';
import { InMemoryCouponRepository } from './in-memory-coupon-repository.js';
import { InMemoryIdempotencyKeys } from './in-memory-idempotency-keys.js';
import { InMemoryOutbox } from './in-memory-outbox.js';
import { InMemoryProductRepository } from './in-memory-product-repository.js';
import type { InMemoryStore } from './in-memory-store.js';
import { InMemoryUserRepository } from './in-memory-user-repository.js';

/**
 * Runs one unit of work at a time (the fakes have no row locks, so serialising is what keeps them
 * honest) and restores the store's snapshot when the work throws, like a rollback. A unit of work run
 * inside another joins it, with its own snapshot as a savepoint.
 */
export class InMemoryUnitOfWork implements UnitOfWork {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly inside = new AsyncLocalStorage<true>();

  constructor(
    private readonly store: InMemoryStore,
    /** What stands in for the database's now() (a logout-all's instant, an outbox row's due time). */
    private readonly clock: Clock = systemClock,
  ) {}

  run<T>(work: (repos: TransactionalRepositories) => Promise<T>): Promise<T> {
    if (this.inside.getStore()) return this.runNow(work);
    const result = this.tail.then(() => this.inside.run(true, () => this.runNow(work)));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async runNow<T>(work: (repos: TransactionalRepositories) => Promise<T>): Promise<T> {
    const snapshot = structuredClone(this.store.state);
    const coupons = new InMemoryCouponRepository(this.store);
    const outbox = new InMemoryOutbox(this.store, this.clock);
    try {
      return await work({
        users: new InMemoryUserRepository(this.store),
        balances: new InMemoryBalanceRepository(this.store),
        products: new InMemoryProductRepository(this.store),
        coupons,
        checkouts: new InMemoryCheckoutRepository(this.store, outbox),
        cancellations: new InMemoryCancellationRepository(this.store, outbox),
        outbox,
        idempotencyKeys: new InMemoryIdempotencyKeys(this.store),
        accounts: new InMemoryAccounts(this.store, this.clock),
        refreshTokens: new InMemoryRefreshTokens(this.store),
        auditLog: new InMemoryAuditLog(this.store, this.clock),
      });
    } catch (error) {
      this.store.state = snapshot;
      throw error;
    }
  }
}
