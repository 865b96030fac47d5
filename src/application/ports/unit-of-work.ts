import type { AccountRepository } from './account-repository.js';
import type { AuditLog } from './audit-log.js';
import type { BalanceRepository } from './balance-repository.js';
import type { CancellationRepository } from './cancellation-repository.js';
import type { CheckoutRepository } from './checkout-repository.js';
import type { CouponRepository } from './coupon-repository.js';
import type { IdempotencyKeyRepository } from './idempotency-keys.js';
import type { Outbox } from './outbox.js';
import type { ProductRepository } from './product-repository.js';
import type { RefreshTokenRepository } from './refresh-token-repository.js';
import type { UserRepository } from './user-repository.js';

/** The repositories a transaction can use. Each is built on first use and bound to that transaction. */
export interface TransactionalRepositories {
  readonly users: UserRepository;
  readonly balances: BalanceRepository;
  readonly products: ProductRepository;
  readonly coupons: CouponRepository;
  readonly checkouts: CheckoutRepository;
  readonly cancellations: CancellationRepository;
  readonly outbox: Outbox;
  readonly idempotencyKeys: IdempotencyKeyRepository;
  readonly accounts: AccountRepository;
  readonly refreshTokens: RefreshTokenRepository;
  readonly auditLog: AuditLog;
}

/**
 * Runs `work` in one transaction: all of its writes commit together, or none do. Called inside another
 * unit of work's `work`, it joins that transaction as a savepoint: if the inner work throws, its writes
 * are undone and the outer work may still go on and commit (that is how a business error can be kept
 * with its Idempotency-Key).
 *
 * Reads: every query port (`*Queries`, `SalesStatistics`) runs outside any unit of work of its own, and
 * when it is called while one is open in the same call chain it reads on that unit of work's
 * transaction. The edge may run any use case inside a unit of work it opened (an Idempotency-Key's), and
 * the use case cannot know it; a read that took a second connection there would hold one connection
 * while waiting for another, which starves the pool under load. The adapters do this by themselves
 * (the call chain's transaction, never a parameter to forget), so use cases stay the same either way.
 */
export interface UnitOfWork {
  run<T>(work: (repos: TransactionalRepositories) => Promise<T>): Promise<T>;
}
