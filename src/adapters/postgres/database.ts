import { type ColumnType, type Generated, Kysely, type LogConfig, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { LedgerEntryType } from '../../domain/balance/balance.js';
import type { DiscountType } from '../../domain/coupon/coupon.js';
import type { DataPlatformEventType, DeliveryStatus } from '../../domain/data-platform/delivery.js';
import type { OrderStatus } from '../../domain/order/order.js';
import type { StockAdjustmentReason } from '../../domain/product/product.js';
import type { Role } from '../../domain/user/user.js';

// The enum columns take their literals from the domain's lists; the migrations' CHECKs are compared with
// the same lists by tests/integration/schema/enum-checks.integration.test.ts.

export interface UsersTable {
  id: Generated<number>;
  name: string;
  role: ColumnType<Role, Role | undefined, Role>;
  email: string | null;
  token_version: ColumnType<number, number | undefined, number>;
  /** Set by logout-all: an identity provider's tokens issued before it are refused. */
  tokens_not_before: Date | null;
  created_at: Date;
}

export interface PasswordCredentialsTable {
  user_id: number;
  email: string;
  password_hash: string;
}

export interface ExternalIdentitiesTable {
  issuer: string;
  subject: string;
  user_id: number;
}

export interface RefreshTokenFamiliesTable {
  id: Generated<number>;
  user_id: number;
  created_at: Date;
  expires_at: Date;
  ended_at: Date | null;
}

export interface RefreshTokensTable {
  token_hash: Buffer;
  family_id: number;
  created_at: Date;
  spent_at: Date | null;
}

export interface LoginAttemptsTable {
  id: Generated<number>;
  email_key: string;
  client_address: string;
  attempted_at: Generated<Date>;
}

export interface ClientRateLimitsTable {
  client_address: string;
  window_start: Date;
  count: string;
}

export interface BalancesTable {
  user_id: number;
  amount: number;
  updated_at: Date;
}

export interface BalanceLedgerTable {
  id: Generated<number>;
  user_id: number;
  type: LedgerEntryType;
  amount: number;
  balance_after: number;
  order_id: number | null;
  created_at: Date;
}

export interface ProductsTable {
  id: Generated<number>;
  name: string;
  price: number;
  stock: number;
  created_at: Date;
  updated_at: Date;
}

export interface StockAdjustmentsTable {
  id: Generated<number>;
  product_id: number;
  delta: number;
  reason: StockAdjustmentReason;
  /** The cancellation that brought the units back, for reason CANCELLATION (migration 0007). */
  cancellation_id: ColumnType<number | null, number | null | undefined, never>;
  created_at: Date;
}

export interface CouponsTable {
  id: Generated<number>;
  name: string;
  discount_type: DiscountType;
  discount_value: number;
  total_quantity: number;
  valid_days: number;
  issue_starts_at: Date | null;
  issue_ends_at: Date | null;
  created_at: Date;
}

/** A campaign's quantity is split across these (migration 0006); its issuedQuantity is the sum of `issued`. */
export interface CouponStripesTable {
  coupon_id: number;
  stripe: number;
  quantity: number;
  issued: Generated<number>;
}

export interface UserCouponsTable {
  id: Generated<number>;
  coupon_id: number;
  /** The stripe of the campaign that counted this copy (migration 0006). */
  stripe: number;
  user_id: number;
  issued_at: Date;
  expires_at: Date;
  used_at: Date | null;
  order_id: number | null;
}

export interface OrdersTable {
  id: Generated<number>;
  user_id: number;
  status: OrderStatus;
  total_amount: number;
  discount_amount: number;
  paid_amount: number;
  user_coupon_id: number | null;
  created_at: Date;
}

/** One cancellation of an order, a record of its own (migration 0007). */
export interface OrderCancellationsTable {
  id: Generated<number>;
  order_id: number;
  refund_amount: number;
  created_at: Date;
}

export interface OrderCancellationLinesTable {
  cancellation_id: number;
  order_id: number;
  product_id: number;
  quantity: number;
  unit_price: number;
  amount: number;
}

export interface OrderLinesTable {
  order_id: number;
  line_no: number;
  product_id: number;
  name: string;
  quantity: number;
  unit_price: number;
  amount: number;
}

export interface PaymentsTable {
  id: Generated<number>;
  order_id: number;
  user_id: number;
  amount: number;
  paid_at: Date;
}

export interface DataPlatformOutboxTable {
  id: Generated<number>;
  event_id: Generated<string>;
  type: ColumnType<DataPlatformEventType, DataPlatformEventType | undefined, never>;
  order_id: number;
  /** For an ORDER_CANCELLED event, its cancellation. */
  cancellation_id: ColumnType<number | null, number | null | undefined, never>;
  /** The event without its id, as JSON. */
  payload: ColumnType<Record<string, unknown>, string, string>;
  status: ColumnType<DeliveryStatus, DeliveryStatus | undefined, DeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  next_attempt_at: Date;
  delivered_at: Date | null;
  created_at: Date;
}

export interface IdempotencyKeysTable {
  user_id: number;
  key: string;
  route: string;
  request_hash: string;
  status_code: number;
  response: ColumnType<unknown, string, string>;
  created_at: Date;
}

/** Units sold (negative: taken back by a cancellation) not yet folded into product_daily_sales. */
export interface ProductSalesPendingTable {
  id: Generated<number>;
  sales_date: ColumnType<string, string, string>;
  product_id: number;
  quantity: number;
}

export interface ProductDailySalesTable {
  /** The shop-local day, as 'YYYY-MM-DD'. */
  sales_date: ColumnType<string, string, string>;
  product_id: number;
  quantity: number;
}

export interface Database {
  users: UsersTable;
  balances: BalancesTable;
  balance_ledger: BalanceLedgerTable;
  products: ProductsTable;
  stock_adjustments: StockAdjustmentsTable;
  coupons: CouponsTable;
  coupon_stripes: CouponStripesTable;
  user_coupons: UserCouponsTable;
  orders: OrdersTable;
  order_lines: OrderLinesTable;
  order_cancellations: OrderCancellationsTable;
  order_cancellation_lines: OrderCancellationLinesTable;
  payments: PaymentsTable;
  data_platform_outbox: DataPlatformOutboxTable;
  idempotency_keys: IdempotencyKeysTable;
  product_daily_sales: ProductDailySalesTable;
  product_sales_pending: ProductSalesPendingTable;
  password_credentials: PasswordCredentialsTable;
  external_identities: ExternalIdentitiesTable;
  refresh_token_families: RefreshTokenFamiliesTable;
  refresh_tokens: RefreshTokensTable;
  login_attempts: LoginAttemptsTable;
  client_rate_limits: ClientRateLimitsTable;
}

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  readonly url: string;
  readonly poolSize?: number;
  /** How long a query may wait for a free connection before it fails. */
  readonly connectionTimeoutMs?: number;
  /** Postgres schema to work in (tests give each file its own). */
  readonly schema?: string;
  /** Told when a connection dies (a database restart, say); the pool replaces it by itself. */
  readonly onIdleConnectionError?: (error: Error) => void;
  /**
   * Bounds every session of the pool sets for itself (PostgreSQL's statement_timeout, lock_timeout and
   * idle_in_transaction_session_timeout). Unset: none, for the command-line tools' long statements.
   */
  readonly limits?: SessionLimits | undefined;
  /** Kysely's query log: levels to log, or a function told each query sent (the bench reads the SQL from it). */
  readonly log?: LogConfig;
}

export interface SessionLimits {
  readonly statementTimeoutMs?: number;
  readonly lockTimeoutMs?: number;
  readonly idleInTransactionTimeoutMs?: number;
}

const INT8 = 20;
const NUMERIC = 1700;
const DATE = 1082;

/**
 * Money and ids are bigint columns; every value this service stores stays below 2^53, so they are read as
 * plain numbers; calendar days are read as their text. Per pool, not pg's global parser table, so nothing
 * else in the process is affected.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8 || oid === NUMERIC) return (value: string) => Number(value);
    // A calendar day stays 'YYYY-MM-DD': as a Date it would become some time zone's midnight.
    if (oid === DATE) return (value: string) => value;
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  },
};

function createPool({
  url,
  poolSize = 20,
  connectionTimeoutMs = 5_000,
  schema,
  onIdleConnectionError,
  limits = {},
}: DatabaseOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: connectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    types,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
    ...(limits.statementTimeoutMs ? { statement_timeout: limits.statementTimeoutMs } : {}),
    ...(limits.lockTimeoutMs ? { lock_timeout: limits.lockTimeoutMs } : {}),
    ...(limits.idleInTransactionTimeoutMs
      ? { idle_in_transaction_session_timeout: limits.idleInTransactionTimeoutMs }
      : {}),
  });
  // Without listeners, a connection's error would be thrown as an uncaught exception and end the process:
  // the pool's covers idle connections, the client's own covers one checked out when the server ends it
  // (a restart, pg_terminate_backend); the query in flight then fails and is answered 503.
  pool.on('error', (error) => onIdleConnectionError?.(error));
  pool.on('connect', (client) => client.on('error', (error) => onIdleConnectionError?.(error)));
  return pool;
}

/** A pool's connections right now, as pg counts them. */
export interface PoolStatistics {
  /** Open, idle or checked out. */
  readonly total: number;
  readonly idle: number;
  /** Queries waiting for a connection. */
  readonly waiting: number;
  readonly max: number;
}

const pools = new WeakMap<Db, pg.Pool>();

export function createDb(options: DatabaseOptions): Db {
  const pool = createPool(options);
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    ...(options.log ? { log: options.log } : {}),
  });
  pools.set(db, pool);
  return db;
}

/** The connections of a database made by createDb (the operations metrics read them); undefined otherwise. */
export function poolStatisticsOf(db: Db): (() => PoolStatistics) | undefined {
  const pool = pools.get(db);
  if (!pool) return undefined;
  return () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max });
}
