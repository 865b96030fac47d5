import type { AccountQueries } from '../application/ports/account-repository.js';
import type { AuditLogQueries } from '../application/ports/audit-log.js';
import type { BalanceQueries } from '../application/ports/balance-queries.js';
import type { BalanceCharges } from '../application/ports/balance-repository.js';
import type { CheckoutRepository } from '../application/ports/checkout-repository.js';
import type { ClientRequestCounter } from '../application/ports/client-request-counter.js';
import type { CouponIssuer, CouponQueries } from '../application/ports/coupon-repository.js';
import type { DeliveryStore } from '../application/ports/data-platform.js';
import type { IdempotencyKeyPurge } from '../application/ports/idempotency-keys.js';
import type { LoginAttempts } from '../application/ports/login-attempts.js';
import type { OrderQueries } from '../application/ports/order-repository.js';
import type { OutboxStatistics } from '../application/ports/outbox-statistics.js';
import type { ProductQueries } from '../application/ports/product-repository.js';
import type { RefreshTokenPurge } from '../application/ports/refresh-token-repository.js';
import type { SalesStatistics } from '../application/ports/sales-statistics.js';
import type { UnitOfWork } from '../application/ports/unit-of-work.js';
import type { UserQueries } from '../application/ports/user-repository.js';
import type { PoolCounts, ReplicaFigures } from './prometheus/shop-metrics.js';

/**
 * Every port whose adapter depends on where the data lives: one set for PostgreSQL (postgresAdapters), one
 * for the in-memory fakes (inMemoryAdapters). The composition root picks a set and registers its members.
 */
export interface PortAdapters {
  readonly unitOfWork: UnitOfWork;
  readonly userQueries: UserQueries;
  readonly balanceQueries: BalanceQueries;
  readonly balanceCharges: BalanceCharges;
  /** The checkout outside a unit of work: each call a step that commits by itself. */
  readonly checkouts: CheckoutRepository;
  /** The catalog's products: may lag by up to catalogLagMs (a replica), like salesStatistics and couponCatalog. */
  readonly productQueries: ProductQueries;
  /** The campaigns as GET /coupons/{couponId} shows them; couponQueries reads what an issue decides on. */
  readonly couponCatalog: Pick<CouponQueries, 'findById'>;
  readonly couponQueries: CouponQueries;
  readonly couponIssuer: CouponIssuer;
  readonly orderQueries: OrderQueries;
  readonly salesStatistics: SalesStatistics;
  readonly accountQueries: AccountQueries;
  readonly refreshTokenPurge: RefreshTokenPurge;
  readonly outboxStatistics: OutboxStatistics;
  readonly idempotencyKeyPurge: IdempotencyKeyPurge;
  /** Whether the store answers: GET /health/ready. */
  readonly readiness: () => Promise<boolean>;
  readonly deliveryStore: DeliveryStore;
  readonly loginAttempts: LoginAttempts;
  readonly clientRequestCounter: ClientRequestCounter;
  readonly auditLogQueries: AuditLogQueries;
  /** How far behind the primary the catalog's reads may be: 0 unless they may come from a replica. */
  readonly catalogLagMs: number;
  /** The database pool's connections, for GET /metrics; undefined when there is no pool to read. */
  readonly poolStatistics: (() => PoolCounts) | undefined;
  /** The read replicas and the catalog reads each answered, for GET /metrics; undefined without replicas. */
  readonly replicaFigures: (() => ReplicaFigures) | undefined;
}
