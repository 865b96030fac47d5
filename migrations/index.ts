import type { Migration } from 'kysely';
import * as usersAndBalances from './0001-users-and-balances.js';
import * as productsAndCoupons from './0002-products-and-coupons.js';
import * as ordersOutboxIdempotency from './0003-orders-outbox-idempotency.js';
import * as productDailySales from './0004-product-daily-sales.js';
import * as accountsAndSessions from './0005-accounts-and-sessions.js';
import * as couponStripes from './0006-coupon-stripes.js';
import * as orderCancellations from './0007-order-cancellations.js';
import * as functionSearchPath from './0008-function-search-path.js';
import * as clientRateLimits from './0009-client-rate-limits.js';
import * as refreshTokenPurge from './0010-refresh-token-purge.js';
import * as couponCopyWindow from './0011-coupon-copy-window.js';
import * as loginAttemptsAddressDefault from './0012-login-attempts-address-default.js';
import * as productSalesPending from './0013-product-sales-pending.js';
import * as deliveryOrderAndAttempts from './0014-delivery-order-and-attempts.js';
import * as auditLog from './0015-audit-log.js';
import * as outboxTraceContext from './0016-outbox-trace-context.js';

/**
 * Every migration, in order. Listed by hand rather than read from the folder so the same code runs from
 * TypeScript sources and from a compiled build.
 */
export const migrations: Record<string, Migration> = {
  '0001-users-and-balances': usersAndBalances,
  '0002-products-and-coupons': productsAndCoupons,
  '0003-orders-outbox-idempotency': ordersOutboxIdempotency,
  '0004-product-daily-sales': productDailySales,
  '0005-accounts-and-sessions': accountsAndSessions,
  '0006-coupon-stripes': couponStripes,
  '0007-order-cancellations': orderCancellations,
  '0008-function-search-path': functionSearchPath,
  '0009-client-rate-limits': clientRateLimits,
  '0010-refresh-token-purge': refreshTokenPurge,
  '0011-coupon-copy-window': couponCopyWindow,
  '0012-login-attempts-address-default': loginAttemptsAddressDefault,
  '0013-product-sales-pending': productSalesPending,
  '0014-delivery-order-and-attempts': deliveryOrderAndAttempts,
  '0015-audit-log': auditLog,
  '0016-outbox-trace-context': outboxTraceContext,
};
