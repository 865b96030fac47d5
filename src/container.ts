import 'reflect-metadata';
import type { KeyObject } from 'node:crypto';
import {
  type DependencyContainer,
  type InjectionToken,
  container as rootContainer,
  instanceCachingFactory,
} from 'tsyringe';
import { Authenticate } from './application/auth/authenticate.js';
import { EnsureAdmin } from './application/auth/ensure-admin.js';
import { GetAccount } from './application/auth/get-account.js';
import { LimitClientRequests } from './application/auth/limit-client-requests.js';
import { LogIn } from './application/auth/log-in.js';
import { LogOut, LogOutEverywhere } from './application/auth/log-out.js';
import { RefreshSession } from './application/auth/refresh-session.js';
import { SessionIssuer } from './application/auth/sessions.js';
import { SignUp } from './application/auth/sign-up.js';
import { TokenVersions } from './application/auth/token-versions.js';
import { DEFAULT_CLIENT_RATE_LIMIT_PER_MINUTE } from './domain/account/client-rate-limit.js';
import { Argon2PasswordHasher } from './adapters/auth/argon2-password-hasher.js';
import { type ExternalIssuer, JoseAccessTokens } from './adapters/auth/jose-access-tokens.js';
import { type SigningKey, newSigningKeyPem, parseSigningKey } from './adapters/auth/signing-keys.js';
import { ChargeBalance } from './application/balance/charge-balance.js';
import { GetBalance } from './application/balance/get-balance.js';
import { GetBalanceHistory } from './application/balance/get-balance-history.js';
import { CreateCoupon } from './application/coupon/create-coupon.js';
import { GetCoupon } from './application/coupon/get-coupon.js';
import { IssueCoupon } from './application/coupon/issue-coupon.js';
import { ListUserCoupons } from './application/coupon/list-user-coupons.js';
import { SoldOutCouponMemory } from './application/coupon/sold-out-coupon-memory.js';
import { RunIdempotently } from './application/idempotency/run-idempotently.js';
import { GetOrder } from './application/order/get-order.js';
import { ListUserOrders } from './application/order/list-user-orders.js';
import { CancelOrder } from './application/order/cancel-order.js';
import { PlaceOrder } from './application/order/place-order.js';
import { CachedSalesStatistics } from './application/statistics/cached-sales-statistics.js';
import { GetPopularProducts } from './application/statistics/get-popular-products.js';
import type { Clock } from './application/ports/clock.js';
import { CreateProduct } from './application/product/create-product.js';
import { GetProduct } from './application/product/get-product.js';
import { ListProducts } from './application/product/list-products.js';
import { UpdateProduct } from './application/product/update-product.js';
import { CreateUser } from './application/user/create-user.js';
import { DeliverDueEvents } from './application/data-platform/deliver-due-events.js';
import { GetDelivery, RedeliverEvent } from './application/data-platform/delivery-operations.js';
import { ListDeliveries } from './application/data-platform/list-deliveries.js';
import { RetryDelivery } from './application/data-platform/retry-delivery.js';
import { ListAuditLog } from './application/audit/list-audit-log.js';
import { type DeliveryLog, LoggingDataPlatformClient } from './adapters/data-platform/logging-data-platform-client.js';
import { OutboxRelay } from './adapters/data-platform/outbox-relay.js';
import { UndiciDataPlatformClient } from './adapters/data-platform/undici-data-platform-client.js';
import type { WebhookSigner } from './adapters/data-platform/webhook-signer.js';
import { TracedDataPlatformClient } from './adapters/tracing/traced-data-platform-client.js';
import { ShopMetrics } from './adapters/prometheus/shop-metrics.js';
import { DEFAULT_RETRY_POLICY } from './domain/data-platform/delivery.js';
import type { AppDependencies } from './adapters/http/app.js';
import type { SeedUseCases } from './adapters/seed/demo-shop.js';
import type { Db } from './adapters/postgres/database.js';
import type { ReplicaSet } from './adapters/postgres/replicas.js';
import { postgresAdapters } from './adapters/postgres/postgres-adapters.js';
import { inMemoryAdapters } from './adapters/memory/in-memory-adapters.js';
import { TOKENS } from './container-tokens.js';
import {
  DEFAULT_ACCESS_TOKEN_TTL_S,
  DEFAULT_DATA_PLATFORM_TIMEOUT_MS,
  DEFAULT_REFRESH_TOKEN_TTL_S,
  DEFAULT_TIME_ZONE,
} from './config.js';
import { systemClock } from './adapters/system-clock.js';
import { InMemoryStore } from './adapters/memory/in-memory-store.js';

export interface DataPlatformOptions {
  /** Unset: each event is logged instead of sent, and counts as delivered. */
  readonly url?: string | undefined;
  readonly timeoutMs?: number;
  readonly maxAttempts?: number;
  /** The first retry's pause, doubling from there up to the cap. */
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  /** Sends in flight at once, at most (8 unless set). */
  readonly concurrency?: number;
  readonly log?: DeliveryLog;
  /** Signs every delivery (DATA_PLATFORM_SECRET and the previous ones); unset: a secret of this process alone. */
  readonly signer?: WebhookSigner;
}

/** Which adapters the ports get: PostgreSQL (the service), or the in-memory fakes (unit tests, demos). */
export type RepositoriesOption =
  | { readonly kind: 'POSTGRES'; readonly db: Db; readonly replicas?: ReplicaSet | undefined }
  | { readonly kind: 'IN_MEMORY'; readonly store?: InMemoryStore };

export interface AuthOptions {
  /** Signs the access tokens (AUTH_SIGNING_KEY). Unset: a key of this process alone (unit tests, demos). */
  readonly signingKey?: SigningKey;
  /** Public keys still trusted for tokens signed before a rotation (AUTH_VERIFY_KEYS). */
  readonly verifyKeys?: readonly KeyObject[];
  readonly accessTokenTtlS?: number;
  readonly refreshTokenTtlS?: number;
  /** An identity provider whose tokens are accepted too (AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE). */
  readonly external?: ExternalIssuer | undefined;
  /** Sign-ups, logins and refreshes one client address may send a minute (AUTH_RATE_LIMIT_PER_MINUTE). */
  readonly rateLimitPerMinute?: number;
}

interface CommonOptions {
  readonly clock?: Clock;
  readonly auth?: AuthOptions;
  /** The shop's time zone (SHOP_TIMEZONE): its days are the ones sales are counted on. */
  readonly timeZone?: string;
  readonly dataPlatform?: DataPlatformOptions;
  /** Told when a scrape of GET /metrics could not read a figure (it answers without it). */
  readonly onMetricsError?: (error: unknown) => void;
  /** Whether the tracing SDK runs: each delivery attempt is then a span in the trace of its order. */
  readonly tracing?: boolean;
}

export interface ContainerOptions extends CommonOptions {
  readonly repositories: RepositoriesOption;
}

/**
 * The composition root: the only module that knows every piece, for PostgreSQL and in memory alike. Factories,
 * not decorators, so nothing depends on emitDecoratorMetadata. The ports' adapters are built with the
 * container, as one set; every other registration is built once, on first resolve.
 */
export function createContainer({
  clock = systemClock,
  timeZone = DEFAULT_TIME_ZONE,
  dataPlatform = {},
  auth = {},
  onMetricsError,
  repositories,
  tracing = false,
}: ContainerOptions): DependencyContainer {
  const c = rootContainer.createChildContainer();
  const single = <T>(token: InjectionToken<T>, build: (r: DependencyContainer) => T) =>
    c.register(token, { useFactory: instanceCachingFactory(build) });
  const value = <T>(token: InjectionToken<T>, instance: T) => c.register(token, { useValue: instance });
  // The one place `repositories` matters: each port below takes its adapter from the set it picks.
  const ports =
    repositories.kind === 'POSTGRES'
      ? postgresAdapters(repositories.db, repositories.replicas)
      : inMemoryAdapters(repositories.store ?? new InMemoryStore(), clock);
  value(TOKENS.Clock, clock);
  value(TOKENS.UnitOfWork, ports.unitOfWork);
  value(TOKENS.UserQueries, ports.userQueries);
  value(TOKENS.BalanceQueries, ports.balanceQueries);
  value(TOKENS.BalanceCharges, ports.balanceCharges);
  value(TOKENS.Checkouts, ports.checkouts);
  value(TOKENS.ProductQueries, ports.productQueries);
  value(TOKENS.CouponQueries, ports.couponQueries);
  value(TOKENS.CouponCatalog, ports.couponCatalog);
  value(TOKENS.CouponIssuer, ports.couponIssuer);
  value(TOKENS.OrderQueries, ports.orderQueries);
  value(TOKENS.SalesStatistics, ports.salesStatistics);
  value(TOKENS.AccountQueries, ports.accountQueries);
  value(TOKENS.RefreshTokenPurge, ports.refreshTokenPurge);
  value(TOKENS.OutboxStatistics, ports.outboxStatistics);
  value(TOKENS.IdempotencyKeyPurge, ports.idempotencyKeyPurge);
  value(TOKENS.Readiness, ports.readiness);
  value(TOKENS.DeliveryStore, ports.deliveryStore);
  value(TOKENS.LoginAttempts, ports.loginAttempts);
  value(TOKENS.ClientRequestCounter, ports.clientRequestCounter);
  value(TOKENS.AuditLogQueries, ports.auditLogQueries);

  single(
    ShopMetrics,
    (r) =>
      new ShopMetrics({
        outbox: r.resolve(TOKENS.OutboxStatistics),
        pool: ports.poolStatistics,
        replicas: ports.replicaFigures,
        onCollectError: onMetricsError,
      }),
  );
  single(TOKENS.PasswordHasher, () => new Argon2PasswordHasher());
  single(
    TOKENS.AccessTokens,
    () =>
      new JoseAccessTokens({
        signingKey: auth.signingKey ?? ephemeralSigningKey(),
        verifyKeys: auth.verifyKeys ?? [],
        lifetimeSeconds: auth.accessTokenTtlS ?? DEFAULT_ACCESS_TOKEN_TTL_S,
        external: auth.external,
        clock,
      }),
  );
  const { url, timeoutMs = DEFAULT_DATA_PLATFORM_TIMEOUT_MS, log = () => undefined, signer } = dataPlatform;
  const policy = {
    maxAttempts: dataPlatform.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
    baseMs: dataPlatform.backoffBaseMs ?? DEFAULT_RETRY_POLICY.baseMs,
    capMs: dataPlatform.backoffCapMs ?? DEFAULT_RETRY_POLICY.capMs,
  };
  single(TOKENS.DataPlatformClient, () => {
    // A connection for every send in flight: a send queued in the pool would be made later, in the context
    // (and so the trace) of whichever send freed the connection.
    const connections = Math.max(50, dataPlatform.concurrency ?? 0);
    const client = url
      ? new UndiciDataPlatformClient({ baseUrl: url, timeoutMs, signer, connections })
      : new LoggingDataPlatformClient(log);
    return tracing ? new TracedDataPlatformClient(client) : client;
  });

  const now = (r: DependencyContainer) => r.resolve(TOKENS.Clock);
  // Caches, one per container so every request of the process shares them.
  single(
    SoldOutCouponMemory,
    (r) => new SoldOutCouponMemory(r.resolve(TOKENS.CouponQueries), r.resolve(TOKENS.CouponIssuer), now(r)),
  );
  single(
    CachedSalesStatistics,
    (r) => new CachedSalesStatistics(r.resolve(TOKENS.SalesStatistics), now(r), { sourceLagMs: ports.catalogLagMs }),
  );

  const uow = (r: DependencyContainer) => r.resolve(TOKENS.UnitOfWork);
  const accounts = (r: DependencyContainer) => r.resolve(TOKENS.AccountQueries);
  single(TokenVersions, (r) => new TokenVersions(accounts(r), now(r)));
  single(
    SessionIssuer,
    (r) =>
      new SessionIssuer(r.resolve(TOKENS.AccessTokens), now(r), {
        refreshTokenTtlMs: (auth.refreshTokenTtlS ?? DEFAULT_REFRESH_TOKEN_TTL_S) * 1000,
      }),
  );
  single(
    LimitClientRequests,
    (r) =>
      new LimitClientRequests(
        r.resolve(TOKENS.ClientRequestCounter),
        auth.rateLimitPerMinute ?? DEFAULT_CLIENT_RATE_LIMIT_PER_MINUTE,
        now(r),
      ),
  );
  single(SignUp, (r) => new SignUp(uow(r), r.resolve(TOKENS.PasswordHasher), now(r)));
  single(EnsureAdmin, (r) => new EnsureAdmin(accounts(r), r.resolve(SignUp)));
  single(
    LogIn,
    (r) =>
      new LogIn(
        uow(r),
        accounts(r),
        r.resolve(TOKENS.PasswordHasher),
        r.resolve(TOKENS.LoginAttempts),
        r.resolve(SessionIssuer),
      ),
  );
  single(RefreshSession, (r) => new RefreshSession(uow(r), accounts(r), r.resolve(SessionIssuer), now(r)));
  single(LogOut, (r) => new LogOut(uow(r), now(r)));
  single(LogOutEverywhere, (r) => new LogOutEverywhere(uow(r), r.resolve(TokenVersions), now(r)));
  single(GetAccount, (r) => new GetAccount(accounts(r)));
  single(
    Authenticate,
    (r) => new Authenticate(r.resolve(TOKENS.AccessTokens), r.resolve(TokenVersions), accounts(r), uow(r), now(r)),
  );
  single(CreateUser, (r) => new CreateUser(uow(r), now(r)));
  single(ChargeBalance, (r) => new ChargeBalance(r.resolve(TOKENS.BalanceCharges), now(r)));
  single(GetBalance, (r) => new GetBalance(r.resolve(TOKENS.BalanceQueries)));
  single(GetBalanceHistory, (r) => new GetBalanceHistory(r.resolve(TOKENS.BalanceQueries)));
  single(CreateProduct, (r) => new CreateProduct(uow(r), now(r)));
  single(UpdateProduct, (r) => new UpdateProduct(uow(r), now(r)));
  single(GetProduct, (r) => new GetProduct(r.resolve(TOKENS.ProductQueries)));
  single(ListProducts, (r) => new ListProducts(r.resolve(TOKENS.ProductQueries)));
  single(CreateCoupon, (r) => new CreateCoupon(uow(r), now(r)));
  single(GetCoupon, (r) => new GetCoupon(r.resolve(TOKENS.CouponCatalog)));
  single(
    IssueCoupon,
    (r) =>
      new IssueCoupon(
        r.resolve(SoldOutCouponMemory),
        r.resolve(TOKENS.UserQueries),
        r.resolve(SoldOutCouponMemory),
        now(r),
      ),
  );
  single(PlaceOrder, (r) => new PlaceOrder(uow(r), r.resolve(TOKENS.Checkouts), now(r), timeZone));
  single(CancelOrder, (r) => new CancelOrder(uow(r), now(r), timeZone));
  single(GetPopularProducts, (r) => new GetPopularProducts(r.resolve(CachedSalesStatistics), now(r), timeZone));
  single(GetOrder, (r) => new GetOrder(r.resolve(TOKENS.OrderQueries)));
  single(ListUserOrders, (r) => new ListUserOrders(r.resolve(TOKENS.UserQueries), r.resolve(TOKENS.OrderQueries)));
  single(RunIdempotently, (r) => new RunIdempotently(uow(r), now(r)));
  single(
    DeliverDueEvents,
    (r) =>
      new DeliverDueEvents(r.resolve(TOKENS.DeliveryStore), r.resolve(TOKENS.DataPlatformClient), {
        // A claimed event is not due again before its lease ends: well past one attempt's timeout, and
        // short enough that events claimed by a process that died are sent again soon.
        leaseMs: Math.max(1_000, 3 * timeoutMs),
        concurrency: dataPlatform.concurrency,
        policy,
        outcomes: r.resolve(ShopMetrics),
      }),
  );
  single(ListDeliveries, (r) => new ListDeliveries(r.resolve(TOKENS.DeliveryStore)));
  single(RetryDelivery, (r) => new RetryDelivery(uow(r), r.resolve(TOKENS.DeliveryStore)));
  single(GetDelivery, (r) => new GetDelivery(r.resolve(TOKENS.DeliveryStore)));
  single(RedeliverEvent, (r) => new RedeliverEvent(uow(r), r.resolve(TOKENS.DeliveryStore)));
  single(ListAuditLog, (r) => new ListAuditLog(r.resolve(TOKENS.AuditLogQueries)));
  single(
    ListUserCoupons,
    (r) => new ListUserCoupons(r.resolve(TOKENS.UserQueries), r.resolve(TOKENS.CouponQueries), now(r)),
  );
  return c;
}

export function appDependencies(c: DependencyContainer): AppDependencies {
  return {
    createUser: c.resolve(CreateUser),
    chargeBalance: c.resolve(ChargeBalance),
    getBalance: c.resolve(GetBalance),
    getBalanceHistory: c.resolve(GetBalanceHistory),
    createProduct: c.resolve(CreateProduct),
    updateProduct: c.resolve(UpdateProduct),
    getProduct: c.resolve(GetProduct),
    listProducts: c.resolve(ListProducts),
    getPopularProducts: c.resolve(GetPopularProducts),
    createCoupon: c.resolve(CreateCoupon),
    getCoupon: c.resolve(GetCoupon),
    issueCoupon: c.resolve(IssueCoupon),
    listUserCoupons: c.resolve(ListUserCoupons),
    placeOrder: c.resolve(PlaceOrder),
    cancelOrder: c.resolve(CancelOrder),
    getOrder: c.resolve(GetOrder),
    listUserOrders: c.resolve(ListUserOrders),
    runIdempotently: c.resolve(RunIdempotently),
    listDeliveries: c.resolve(ListDeliveries),
    retryDelivery: c.resolve(RetryDelivery),
    getDelivery: c.resolve(GetDelivery),
    redeliverEvent: c.resolve(RedeliverEvent),
    listAuditLog: c.resolve(ListAuditLog),
    isReady: c.resolve(TOKENS.Readiness),
    jwks: async () => ({ keys: (await c.resolve(TOKENS.AccessTokens).jwks()).keys.map((key) => ({ ...key })) }),
    authenticate: c.resolve(Authenticate),
    limitClientRequests: c.resolve(LimitClientRequests),
    signUp: c.resolve(SignUp),
    logIn: c.resolve(LogIn),
    refreshSession: c.resolve(RefreshSession),
    logOut: c.resolve(LogOut),
    logOutEverywhere: c.resolve(LogOutEverywhere),
    getAccount: c.resolve(GetAccount),
    metrics: c.resolve(ShopMetrics),
  };
}

/** A signing key that lives as long as the process: tokens it signed mean nothing to any other. */
function ephemeralSigningKey(): SigningKey {
  return parseSigningKey(newSigningKeyPem());
}

/** The configured administrator (ADMIN_EMAIL, ADMIN_PASSWORD), created unless an account has the email. */
export function ensureAdmin(c: DependencyContainer, email: string, password: string) {
  return c.resolve(EnsureAdmin).execute({ email, password });
}

/** The account a password login with this email would find. */
export async function accountByEmail(c: DependencyContainer, email: string) {
  return (await c.resolve(TOKENS.AccountQueries).findByEmail(email.trim()))?.user;
}

/** Issues access tokens with the container's own key: for tools and tests that act as a user who is signed in. */
export function accessTokens(c: DependencyContainer): Pick<JoseAccessTokens, 'issue' | 'verify'> {
  return c.resolve(TOKENS.AccessTokens);
}

export function seedUseCases(c: DependencyContainer): SeedUseCases {
  return {
    signUp: c.resolve(SignUp),
    ensureAdmin: c.resolve(EnsureAdmin),
    chargeBalance: c.resolve(ChargeBalance),
    createProduct: c.resolve(CreateProduct),
    createCoupon: c.resolve(CreateCoupon),
  };
}

/**
 * Starts delivering the outbox in the background. `stop` lets the sends in flight finish, then frees the
 * client's connections; call it after the HTTP server has closed and before the database is.
 */
export function startOutboxRelay(c: DependencyContainer, onError: (error: unknown) => void): { stop(): Promise<void> } {
  const relay = new OutboxRelay(c.resolve(DeliverDueEvents), { onError });
  relay.start();
  return {
    async stop() {
      await relay.stop();
      await c.resolve(TOKENS.DataPlatformClient).close?.();
    },
  };
}
