import type { ColumnType, Generated } from 'kysely';
import type { AuditAction, AuditFields, AuditTarget } from '../../domain/audit/audit-entry.js';
import type { LedgerEntryType } from '../../domain/balance/balance.js';
import type { DiscountType } from '../../domain/coupon/coupon.js';
import type { DataPlatformEventType, DeliveryStatus, TraceContext } from '../../domain/data-platform/delivery.js';
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
  /** The audit entry of the admin action that made it, for INITIAL and ADJUSTMENT (migration 0015). */
  audit_entry_id: ColumnType<number | null, number | null | undefined, never>;
  created_at: Date;
}

/** Append-only: the schema refuses UPDATE, DELETE and TRUNCATE (migration 0015). */
export interface AuditLogTable {
  id: Generated<number>;
  at: Generated<Date>;
  actor_id: number | null;
  action: AuditAction;
  target: ColumnType<AuditTarget, string, never>;
  before: ColumnType<AuditFields | null, string | null, never>;
  after: ColumnType<AuditFields | null, string | null, never>;
  request_id: string;
  trace_id: string | null;
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
  /** Operator retries and redeliveries so far. */
  generation: ColumnType<number, never, number>;
  /** The W3C trace context of the request that wrote the event; null when tracing was off. */
  trace_context: ColumnType<TraceContext | null, string | null | undefined, never>;
}

export interface DataPlatformDeliveryAttemptsTable {
  id: Generated<number>;
  outbox_id: number;
  attempted_at: Date;
  outcome: 'DELIVERED' | 'FAILED';
  http_status: number | null;
  duration_ms: number;
  error: string | null;
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
  audit_log: AuditLogTable;
  coupons: CouponsTable;
  coupon_stripes: CouponStripesTable;
  user_coupons: UserCouponsTable;
  orders: OrdersTable;
  order_lines: OrderLinesTable;
  order_cancellations: OrderCancellationsTable;
  order_cancellation_lines: OrderCancellationLinesTable;
  payments: PaymentsTable;
  data_platform_outbox: DataPlatformOutboxTable;
  data_platform_delivery_attempts: DataPlatformDeliveryAttemptsTable;
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
