import type { InjectionToken } from 'tsyringe';
import type { JoseAccessTokens } from './adapters/auth/jose-access-tokens.js';
import type { PortAdapters } from './adapters/port-adapters.js';
import type { PasswordHasher } from './application/ports/access-tokens.js';
import type { Clock } from './application/ports/clock.js';
import type { ClosableDataPlatformClient } from './application/ports/data-platform.js';

/** A port whose adapter comes from the chosen set (PostgreSQL's or the in-memory one), typed as the set has it. */
type Port<K extends keyof PortAdapters> = InjectionToken<PortAdapters[K]>;

/** One token per port, for the composition root (container.ts). Use cases are registered under their own class. */
export const TOKENS = {
  Clock: Symbol('Clock') as InjectionToken<Clock>,
  UnitOfWork: Symbol('UnitOfWork') as Port<'unitOfWork'>,
  BalanceCharges: Symbol('BalanceCharges') as Port<'balanceCharges'>,
  /** The checkout outside a unit of work: each call a step that commits by itself. */
  Checkouts: Symbol('Checkouts') as Port<'checkouts'>,
  UserQueries: Symbol('UserQueries') as Port<'userQueries'>,
  BalanceQueries: Symbol('BalanceQueries') as Port<'balanceQueries'>,
  ProductQueries: Symbol('ProductQueries') as Port<'productQueries'>,
  CouponQueries: Symbol('CouponQueries') as Port<'couponQueries'>,
  /** The campaigns as the catalog shows them: may lag, from a replica. */
  CouponCatalog: Symbol('CouponCatalog') as Port<'couponCatalog'>,
  CouponIssuer: Symbol('CouponIssuer') as Port<'couponIssuer'>,
  OrderQueries: Symbol('OrderQueries') as Port<'orderQueries'>,
  SalesStatistics: Symbol('SalesStatistics') as Port<'salesStatistics'>,
  IdempotencyKeyPurge: Symbol('IdempotencyKeyPurge') as Port<'idempotencyKeyPurge'>,
  DeliveryStore: Symbol('DeliveryStore') as Port<'deliveryStore'>,
  OutboxStatistics: Symbol('OutboxStatistics') as Port<'outboxStatistics'>,
  /** `close`, where the client has it, frees its connections at shutdown. */
  DataPlatformClient: Symbol('DataPlatformClient') as InjectionToken<ClosableDataPlatformClient>,
  AccountQueries: Symbol('AccountQueries') as Port<'accountQueries'>,
  LoginAttempts: Symbol('LoginAttempts') as Port<'loginAttempts'>,
  RefreshTokenPurge: Symbol('RefreshTokenPurge') as Port<'refreshTokenPurge'>,
  ClientRequestCounter: Symbol('ClientRequestCounter') as Port<'clientRequestCounter'>,
  AuditLogQueries: Symbol('AuditLogQueries') as Port<'auditLogQueries'>,
  PasswordHasher: Symbol('PasswordHasher') as InjectionToken<PasswordHasher>,
  AccessTokens: Symbol('AccessTokens') as InjectionToken<JoseAccessTokens>,
  /** Whether the store answers: GET /health/ready. */
  Readiness: Symbol('Readiness') as Port<'readiness'>,
};
