import type { PortAdapters } from '../port-adapters.js';
import { type Db, poolStatisticsOf } from './database.js';
import { PgAccountRepository } from './pg-account-repository.js';
import { PgAuditLogQueries } from './pg-audit-log.js';
import { PgBalanceQueries } from './pg-balance-queries.js';
import { PgBalanceCharges } from './pg-balance-repository.js';
import { PgCheckoutRepository } from './pg-checkout-repository.js';
import { PgClientRequestCounter } from './pg-client-request-counter.js';
import { PgCouponIssuer, PgCouponQueries } from './pg-coupon-repository.js';
import { PgDeliveryStore } from './pg-delivery-store.js';
import { PgIdempotencyKeys } from './pg-idempotency-keys.js';
import { PgLoginAttempts } from './pg-login-attempts.js';
import { PgOrderQueries } from './pg-order-repository.js';
import { PgOutboxStatistics } from './pg-outbox-statistics.js';
import { PgProductQueries } from './pg-product-repository.js';
import { databaseIsReachable } from './pg-readiness.js';
import { PgRefreshTokens } from './pg-refresh-tokens.js';
import { PgSalesStatistics } from './pg-sales-statistics.js';
import { PgUnitOfWork } from './pg-unit-of-work.js';
import { PgUserRepository } from './pg-user-repository.js';
import { readsFromReplicas } from './read-routing.js';
import type { ReplicaSet } from './replicas.js';

/**
 * The ports on PostgreSQL (the service), each its own instance. Where each reads is decided here and only
 * here: the catalog (products, the popular ranking, a campaign as GET /coupons/{couponId} shows it) from a
 * replica fresh enough when there are replicas; everything else from the primary: whatever a user reads of
 * their own, every write and transaction, and everything authentication reads.
 */
export function postgresAdapters(db: Db, replicas?: ReplicaSet): PortAdapters {
  const catalog = replicas ? readsFromReplicas(db, replicas) : db;
  return {
    unitOfWork: new PgUnitOfWork(db),
    userQueries: new PgUserRepository(db),
    balanceQueries: new PgBalanceQueries(db),
    balanceCharges: new PgBalanceCharges(db),
    checkouts: new PgCheckoutRepository(db),
    productQueries: new PgProductQueries(catalog),
    couponCatalog: new PgCouponQueries(catalog),
    couponQueries: new PgCouponQueries(db),
    couponIssuer: new PgCouponIssuer(db),
    orderQueries: new PgOrderQueries(db),
    salesStatistics: new PgSalesStatistics(catalog),
    accountQueries: new PgAccountRepository(db),
    refreshTokenPurge: new PgRefreshTokens(db),
    outboxStatistics: new PgOutboxStatistics(db),
    idempotencyKeyPurge: new PgIdempotencyKeys(db),
    readiness: () => databaseIsReachable(db),
    deliveryStore: new PgDeliveryStore(db),
    loginAttempts: new PgLoginAttempts(db),
    clientRequestCounter: new PgClientRequestCounter(db),
    auditLogQueries: new PgAuditLogQueries(db),
    catalogLagMs: replicas?.maxLagMs ?? 0,
    poolStatistics: poolStatisticsOf(db),
    replicaFigures: replicas && (() => ({ replicas: replicas.statuses(), reads: replicas.readsBySource() })),
  };
}
