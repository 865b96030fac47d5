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
import { LOGIN_FAILURE_WINDOW_MS } from './domain/account/refresh-token.js';
import { CLIENT_RATE_WINDOW_MS, DEFAULT_CLIENT_RATE_LIMIT_PER_MINUTE } from './domain/account/client-rate-limit.js';
import type { ClientRequestCounter } from './application/ports/client-request-counter.js';
import { PgClientRequestCounter } from './adapters/postgres/pg-client-request-counter.js';
import { InMemoryClientRequestCounter } from './adapters/memory/in-memory-client-request-counter.js';
import type { AccountQueries } from './application/ports/account-repository.js';
import type { PasswordHasher } from './application/ports/access-tokens.js';
import type { LoginAttempts } from './application/ports/login-attempts.js';
import type { RefreshTokenPurge } from './application/ports/refresh-token-repository.js';
import { Argon2PasswordHasher } from './adapters/auth/argon2-password-hasher.js';
import { type ExternalIssuer, JoseAccessTokens } from './adapters/auth/jose-access-tokens.js';
import { type SigningKey, newSigningKeyPem, parseSigningKey } from './adapters/auth/signing-keys.js';
import { PgAccountRepository } from './adapters/postgres/pg-account-repository.js';
import { PgLoginAttempts } from './adapters/postgres/pg-login-attempts.js';
import { PgRefreshTokens } from './adapters/postgres/pg-refresh-tokens.js';
import {
  InMemoryAccounts,
  InMemoryLoginAttempts,
  InMemoryRefreshTokens,
} from './adapters/memory/in-memory-accounts.js';
import { ChargeBalance } from './application/balance/charge-balance.js';
import { GetBalance } from './application/balance/get-balance.js';
import { GetBalanceHistory } from './application/balance/get-balance-history.js';
import { CreateCoupon } from './application/coupon/create-coupon.js';
import { GetCoupon } from './application/coupon/get-coupon.js';
import { IssueCoupon } from './application/coupon/issue-coupon.js';
import { ListUserCoupons } from './application/coupon/list-user-coupons.js';
import { SoldOutCouponMemory } from './application/coupon/sold-out-coupon-memory.js';
import { IDEMPOTENCY_KEY_TTL_MS, RunIdempotently } from './application/idempotency/run-idempotently.js';
import { GetOrder } from './application/order/get-order.js';
import { ListUserOrders } from './application/order/list-user-orders.js';
import { CancelOrder } from './application/order/cancel-order.js';
import { PlaceOrder } from './application/order/place-order.js';
import { CachedSalesStatistics } from './application/statistics/cached-sales-statistics.js';
import { GetPopularProducts } from './application/statistics/get-popular-products.js';
import type { BalanceQueries } from './application/ports/balance-queries.js';
import type { BalanceCharges } from './application/ports/balance-repository.js';
import type { CheckoutRepository } from './application/ports/checkout-repository.js';
import type { Clock } from './application/ports/clock.js';
import type { CouponIssuer, CouponQueries } from './application/ports/coupon-repository.js';
import type { IdempotencyKeyPurge } from './application/ports/idempotency-keys.js';
import type { OrderQueries } from './application/ports/order-repository.js';
import type { ProductQueries } from './application/ports/product-repository.js';
import type { SalesStatistics } from './application/ports/sales-statistics.js';
import type { UnitOfWork } from './application/ports/unit-of-work.js';
import type { UserQueries } from './application/ports/user-repository.js';
import { CreateProduct } from './application/product/create-product.js';
import { GetProduct } from './application/product/get-product.js';
import { ListProducts } from './application/product/list-products.js';
import { UpdateProduct } from './application/product/update-product.js';
import { CreateUser } from './application/user/create-user.js';
import { DeliverDueEvents } from './application/data-platform/deliver-due-events.js';
import { ListDeliveries } from './application/data-platform/list-deliveries.js';
import { RetryDelivery } from './application/data-platform/retry-delivery.js';
import type { DataPlatformClient, DeliveryStore } from './application/ports/data-platform.js';
import { type DeliveryLog, LoggingDataPlatformClient } from './adapters/data-platform/logging-data-platform-client.js';
import { OutboxRelay } from './adapters/data-platform/outbox-relay.js';
import { UndiciDataPlatformClient } from './adapters/data-platform/undici-data-platform-client.js';
import { PgDeliveryStore } from './adapters/postgres/pg-delivery-store.js';
import { PgOutboxStatistics } from './adapters/postgres/pg-outbox-statistics.js';
import { InMemoryOutboxStatistics } from './adapters/memory/in-memory-outbox-statistics.js';
import { ShopMetrics } from './adapters/prometheus/shop-metrics.js';
import type { OutboxStatistics } from './application/ports/outbox-statistics.js';
import { DEFAULT_RETRY_POLICY } from './domain/data-platform/delivery.js';
import type { AppDependencies } from './adapters/http/app.js';
import type { SeedUseCases } from './adapters/seed/demo-shop.js';
import { type Db, poolStatisticsOf } from './adapters/postgres/database.js';
import { PgBalanceQueries } from './adapters/postgres/pg-balance-queries.js';
import { PgBalanceCharges } from './adapters/postgres/pg-balance-repository.js';
import { PgCheckoutRepository } from './adapters/postgres/pg-checkout-repository.js';
import { PgCouponIssuer, PgCouponQueries } from './adapters/postgres/pg-coupon-repository.js';
import { PgIdempotencyKeys } from './adapters/postgres/pg-idempotency-keys.js';
import { PgOrderQueries } from './adapters/postgres/pg-order-repository.js';
import { PgSalesStatistics } from './adapters/postgres/pg-sales-statistics.js';
import { PgProductQueries } from './adapters/postgres/pg-product-repository.js';
import { databaseIsReachable } from './adapters/postgres/pg-readiness.js';
import { PgUnitOfWork } from './adapters/postgres/pg-unit-of-work.js';
import { PgUserRepository } from './adapters/postgres/pg-user-repository.js';
import { systemClock } from './adapters/system-clock.js';
import { InMemoryBalanceCharges, InMemoryBalanceRepository } from './adapters/memory/in-memory-balance-repository.js';
import { InMemoryCheckoutSteps } from './adapters/memory/in-memory-checkout-repository.js';
import { InMemoryCouponRepository } from './adapters/memory/in-memory-coupon-repository.js';
import { InMemoryDeliveryStore } from './adapters/memory/in-memory-delivery-store.js';
import { InMemoryOrderRepository } from './adapters/memory/in-memory-order-repository.js';
import { InMemoryProductRepository } from './adapters/memory/in-memory-product-repository.js';
import { InMemorySales } from './adapters/memory/in-memory-sales.js';
import { InMemoryStore } from './adapters/memory/in-memory-store.js';
import { InMemoryUnitOfWork } from './adapters/memory/in-memory-unit-of-work.js';
import { InMemoryUserRepository } from './adapters/memory/in-memory-user-repository.js';

/** One token per port. Use cases are registered under their own class. */
const TOKENS = {
  Clock: Symbol('Clock') as InjectionToken<Clock>,
  UnitOfWork: Symbol('UnitOfWork') as InjectionToken<UnitOfWork>,
  BalanceCharges: Symbol('BalanceCharges') as InjectionToken<BalanceCharges>,
  /** The checkout outside a unit of work: each call a step that commits by itself. */
  Checkouts: Symbol('Checkouts') as InjectionToken<CheckoutRepository>,
  UserQueries: Symbol('UserQueries') as InjectionToken<UserQueries>,
  BalanceQueries: Symbol('BalanceQueries') as InjectionToken<BalanceQueries>,
  ProductQueries: Symbol('ProductQueries') as InjectionToken<ProductQueries>,
  CouponQueries: Symbol('CouponQueries') as InjectionToken<CouponQueries>,
  CouponIssuer: Symbol('CouponIssuer') as InjectionToken<CouponIssuer>,
  OrderQueries: Symbol('OrderQueries') as InjectionToken<OrderQueries>,
  SalesStatistics: Symbol('SalesStatistics') as InjectionToken<SalesStatistics>,
  IdempotencyKeyPurge: Symbol('IdempotencyKeyPurge') as InjectionToken<IdempotencyKeyPurge>,
  DeliveryStore: Symbol('DeliveryStore') as InjectionToken<DeliveryStore>,
  OutboxStatistics: Symbol('OutboxStatistics') as InjectionToken<OutboxStatistics>,
  DataPlatformClient: Symbol('DataPlatformClient') as InjectionToken<DataPlatformClient>,
  AccountQueries: Symbol('AccountQueries') as InjectionToken<AccountQueries>,
  LoginAttempts: Symbol('LoginAttempts') as InjectionToken<LoginAttempts>,
  RefreshTokenPurge: Symbol('RefreshTokenPurge') as InjectionToken<RefreshTokenPurge>,
  ClientRequestCounter: Symbol('ClientRequestCounter') as InjectionToken<ClientRequestCounter>,
  PasswordHasher: Symbol('PasswordHasher') as InjectionToken<PasswordHasher>,
  AccessTokens: Symbol('AccessTokens') as InjectionToken<JoseAccessTokens>,
  /** Whether the store answers: GET /health/ready. */
  Readiness: Symbol('Readiness') as InjectionToken<() => Promise<boolean>>,
};

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
}

/** Which adapters the ports get: PostgreSQL (the service), or the in-memory fakes (unit tests, demos). */
export type RepositoriesOption =
  | { readonly kind: 'POSTGRES'; readonly db: Db }
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
}

export interface ContainerOptions extends CommonOptions {
  readonly repositories: RepositoriesOption;
}

/**
 * The composition root: the only module that knows every piece, for PostgreSQL and in memory alike. Factories,
 * not decorators, so nothing depends on emitDecoratorMetadata; each registration is built once, on first
 * resolve.
 */
export function createContainer({
  clock = systemClock,
  timeZone = 'Asia/Seoul',
  dataPlatform = {},
  auth = {},
  onMetricsError,
  ...options
}: ContainerOptions): DependencyContainer {
  const repositories = chosenRepositories(options.repositories);
  const c = rootContainer.createChildContainer();
  const single = <T>(token: InjectionToken<T>, build: (r: DependencyContainer) => T) =>
    c.register(token, { useFactory: instanceCachingFactory(build) });
  // Each port's two adapters side by side; the option picks one.
  const adapter = <T>(token: InjectionToken<T>, Pg: new (db: Db) => T, InMemory: new (store: InMemoryStore) => T) =>
    single(token, () =>
      repositories.kind === 'POSTGRES' ? new Pg(repositories.db) : new InMemory(repositories.store),
    );
  single(TOKENS.UnitOfWork, () =>
    // In memory, the app's clock stands in for the database's now().
    repositories.kind === 'POSTGRES'
      ? new PgUnitOfWork(repositories.db)
      : new InMemoryUnitOfWork(repositories.store, clock),
  );
  adapter(TOKENS.UserQueries, PgUserRepository, InMemoryUserRepository);
  adapter(TOKENS.BalanceQueries, PgBalanceQueries, InMemoryBalanceRepository);
  single(TOKENS.BalanceCharges, (r) =>
    repositories.kind === 'POSTGRES'
      ? new PgBalanceCharges(repositories.db)
      : new InMemoryBalanceCharges(repositories.store, r.resolve(TOKENS.UnitOfWork)),
  );
  single(TOKENS.Checkouts, (r) =>
    repositories.kind === 'POSTGRES'
      ? new PgCheckoutRepository(repositories.db)
      : new InMemoryCheckoutSteps(r.resolve(TOKENS.UnitOfWork)),
  );
  adapter(TOKENS.ProductQueries, PgProductQueries, InMemoryProductRepository);
  adapter(TOKENS.CouponQueries, PgCouponQueries, InMemoryCouponRepository);
  adapter(TOKENS.CouponIssuer, PgCouponIssuer, InMemoryCouponRepository);
  adapter(TOKENS.OrderQueries, PgOrderQueries, InMemoryOrderRepository);
  adapter(TOKENS.SalesStatistics, PgSalesStatistics, InMemorySales);
  adapter(TOKENS.AccountQueries, PgAccountRepository, InMemoryAccounts);
  adapter(TOKENS.RefreshTokenPurge, PgRefreshTokens, InMemoryRefreshTokens);
  const postgres = repositories.kind === 'POSTGRES' ? repositories.db : undefined;
  single(TOKENS.OutboxStatistics, () =>
    repositories.kind === 'POSTGRES'
      ? new PgOutboxStatistics(repositories.db)
      : new InMemoryOutboxStatistics(repositories.store, clock),
  );
  single(
    ShopMetrics,
    (r) =>
      new ShopMetrics({
        outbox: r.resolve(TOKENS.OutboxStatistics),
        pool: postgres && poolStatisticsOf(postgres),
        onCollectError: onMetricsError,
      }),
  );
  // In memory an expired key is already ignored on lookup, and the store lasts no longer than the process.
  single(TOKENS.IdempotencyKeyPurge, () => (postgres ? new PgIdempotencyKeys(postgres) : { purge: async () => 0 }));
  single(TOKENS.Readiness, () => (postgres ? () => databaseIsReachable(postgres) : async () => true));

  c.register(TOKENS.Clock, { useValue: clock });
  single(TOKENS.DeliveryStore, () =>
    repositories.kind === 'POSTGRES'
      ? new PgDeliveryStore(repositories.db)
      : new InMemoryDeliveryStore(repositories.store, clock),
  );
  single(TOKENS.LoginAttempts, () =>
    repositories.kind === 'POSTGRES'
      ? new PgLoginAttempts(repositories.db)
      : new InMemoryLoginAttempts(repositories.store, clock),
  );
  single(TOKENS.ClientRequestCounter, () =>
    repositories.kind === 'POSTGRES'
      ? new PgClientRequestCounter(repositories.db)
      : new InMemoryClientRequestCounter(clock),
  );
  single(TOKENS.PasswordHasher, () => new Argon2PasswordHasher());
  single(
    TOKENS.AccessTokens,
    () =>
      new JoseAccessTokens({
        signingKey: auth.signingKey ?? ephemeralSigningKey(),
        verifyKeys: auth.verifyKeys ?? [],
        lifetimeSeconds: auth.accessTokenTtlS ?? 900,
        external: auth.external,
        clock,
      }),
  );
  const { url, timeoutMs = 5_000, log = () => undefined } = dataPlatform;
  const policy = {
    maxAttempts: dataPlatform.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
    baseMs: dataPlatform.backoffBaseMs ?? DEFAULT_RETRY_POLICY.baseMs,
    capMs: dataPlatform.backoffCapMs ?? DEFAULT_RETRY_POLICY.capMs,
  };
  single(TOKENS.DataPlatformClient, () =>
    url ? new UndiciDataPlatformClient({ baseUrl: url, timeoutMs }) : new LoggingDataPlatformClient(log),
  );

  const now = (r: DependencyContainer) => r.resolve(TOKENS.Clock);
  // Caches, one per container so every request of the process shares them.
  single(
    SoldOutCouponMemory,
    (r) => new SoldOutCouponMemory(r.resolve(TOKENS.CouponQueries), r.resolve(TOKENS.CouponIssuer), now(r)),
  );
  single(CachedSalesStatistics, (r) => new CachedSalesStatistics(r.resolve(TOKENS.SalesStatistics), now(r)));

  const uow = (r: DependencyContainer) => r.resolve(TOKENS.UnitOfWork);
  const accounts = (r: DependencyContainer) => r.resolve(TOKENS.AccountQueries);
  single(TokenVersions, (r) => new TokenVersions(accounts(r), now(r)));
  single(
    SessionIssuer,
    (r) =>
      new SessionIssuer(r.resolve(TOKENS.AccessTokens), now(r), {
        refreshTokenTtlMs: (auth.refreshTokenTtlS ?? 30 * 86_400) * 1000,
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
  single(GetCoupon, (r) => new GetCoupon(r.resolve(TOKENS.CouponQueries)));
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
  single(RetryDelivery, (r) => new RetryDelivery(r.resolve(TOKENS.DeliveryStore)));
  single(
    ListUserCoupons,
    (r) => new ListUserCoupons(r.resolve(TOKENS.UserQueries), r.resolve(TOKENS.CouponQueries), now(r)),
  );
  return c;
}

function chosenRepositories(
  repositories: RepositoriesOption,
): { readonly kind: 'POSTGRES'; readonly db: Db } | { readonly kind: 'IN_MEMORY'; readonly store: InMemoryStore } {
  return repositories.kind === 'POSTGRES'
    ? repositories
    : { kind: 'IN_MEMORY', store: repositories.store ?? new InMemoryStore() };
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
      const client = c.resolve(TOKENS.DataPlatformClient);
      if (client instanceof UndiciDataPlatformClient) await client.close();
    },
  };
}

/**
 * Deletes Idempotency-Key records past their 24 hours, login attempts and client request counts past
 * their windows, and logins past their lifetime with their refresh tokens, once at start and then hourly.
 * (Expired ones are already ignored on lookup; this only keeps the tables small.)
 */
export function startKeyPurge(c: DependencyContainer, onError: (error: unknown) => void): { stop(): void } {
  const keys = c.resolve(TOKENS.IdempotencyKeyPurge);
  const logins = c.resolve(TOKENS.LoginAttempts);
  const clients = c.resolve(TOKENS.ClientRequestCounter);
  const clock = c.resolve(TOKENS.Clock);
  const refreshTokens = c.resolve(TOKENS.RefreshTokenPurge);
  // A spent token shown again ends the access tokens of its login, the last of which outlives the login by
  // up to an access token's lifetime: till then the login's rows still matter.
  const refreshGraceMs = c.resolve(TOKENS.AccessTokens).lifetimeSeconds * 1000;
  const purge = () => {
    void keys.purge(new Date(clock.now().getTime() - IDEMPOTENCY_KEY_TTL_MS)).catch(onError);
    void logins.purge(LOGIN_FAILURE_WINDOW_MS).catch(onError);
    void refreshTokens.purge(new Date(clock.now().getTime() - refreshGraceMs)).catch(onError);
    void clients.purge(CLIENT_RATE_WINDOW_MS).catch(onError);
  };
  purge();
  const timer = setInterval(purge, 60 * 60 * 1000).unref();
  return { stop: () => clearInterval(timer) };
}
