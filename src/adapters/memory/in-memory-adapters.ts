import type { Clock } from '../../application/ports/clock.js';
import type { PortAdapters } from '../port-adapters.js';
import { InMemoryAccounts, InMemoryLoginAttempts, InMemoryRefreshTokens } from './in-memory-accounts.js';
import { InMemoryAuditLog } from './in-memory-audit-log.js';
import { InMemoryBalanceCharges, InMemoryBalanceRepository } from './in-memory-balance-repository.js';
import { InMemoryCheckoutSteps } from './in-memory-checkout-repository.js';
import { InMemoryClientRequestCounter } from './in-memory-client-request-counter.js';
import { InMemoryCouponIssuer, InMemoryCouponRepository } from './in-memory-coupon-repository.js';
import { InMemoryDeliveryStore } from './in-memory-delivery-store.js';
import { InMemoryOrderRepository } from './in-memory-order-repository.js';
import { InMemoryOutboxStatistics } from './in-memory-outbox-statistics.js';
import { InMemoryProductRepository } from './in-memory-product-repository.js';
import { InMemorySales } from './in-memory-sales.js';
import type { InMemoryStore } from './in-memory-store.js';
import { InMemoryUnitOfWork } from './in-memory-unit-of-work.js';
import { InMemoryUserRepository } from './in-memory-user-repository.js';

/**
 * The ports on the in-memory fakes (unit tests, demos), all on one store. In memory, the app's clock stands
 * in for the database's now().
 */
export function inMemoryAdapters(store: InMemoryStore, clock: Clock): PortAdapters {
  // One unit of work for the set: it serialises the work on the store, the charges', issues' and checkouts' too.
  const unitOfWork = new InMemoryUnitOfWork(store, clock);
  return {
    unitOfWork,
    userQueries: new InMemoryUserRepository(store),
    balanceQueries: new InMemoryBalanceRepository(store),
    balanceCharges: new InMemoryBalanceCharges(store, unitOfWork),
    checkouts: new InMemoryCheckoutSteps(unitOfWork),
    productQueries: new InMemoryProductRepository(store),
    couponCatalog: new InMemoryCouponRepository(store),
    couponQueries: new InMemoryCouponRepository(store),
    couponIssuer: new InMemoryCouponIssuer(store, unitOfWork, clock),
    orderQueries: new InMemoryOrderRepository(store),
    salesStatistics: new InMemorySales(store),
    // Reads only, which never ask its clock (the system's, as no clock is given).
    accountQueries: new InMemoryAccounts(store),
    refreshTokenPurge: new InMemoryRefreshTokens(store),
    outboxStatistics: new InMemoryOutboxStatistics(store, clock),
    // An expired key is already ignored on lookup, and the store lasts no longer than the process.
    idempotencyKeyPurge: { purge: async () => 0 },
    readiness: async () => true,
    deliveryStore: new InMemoryDeliveryStore(store, clock),
    loginAttempts: new InMemoryLoginAttempts(store, clock),
    clientRequestCounter: new InMemoryClientRequestCounter(clock),
    auditLogQueries: new InMemoryAuditLog(store, clock),
    catalogLagMs: 0,
    poolStatistics: undefined,
    replicaFigures: undefined,
  };
}
