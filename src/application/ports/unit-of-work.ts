import type { BalanceRepository } from './balance-repository.js';
import type { CouponRepository } from './coupon-repository.js';
import type { ProductRepository } from './product-repository.js';
import type { UserRepository } from './user-repository.js';

/** The repositories a transaction can use. Each is built on first use and bound to that transaction. */
export interface TransactionalRepositories {
  readonly users: UserRepository;
  readonly balances: BalanceRepository;
  readonly products: ProductRepository;
  readonly coupons: CouponRepository;
}

/** Runs `work` in one transaction: all of its writes commit together, or none do. */
export interface UnitOfWork {
  run<T>(work: (repos: TransactionalRepositories) => Promise<T>): Promise<T>;
}
