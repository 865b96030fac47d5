import type { IdempotencyRecord } from '../../application/ports/idempotency-keys.js';
import type { StockAdjustment } from '../../application/ports/product-repository.js';
import type { AuditEntry } from '../../domain/audit/audit-entry.js';
import type { BalanceProps, LedgerEntry } from '../../domain/balance/balance.js';
import type { CouponProps } from '../../domain/coupon/coupon.js';
import type {
  DataPlatformEvent,
  DeliveryAttempt,
  DeliveryProps,
  TraceContext,
} from '../../domain/data-platform/delivery.js';
import type { OrderProps } from '../../domain/order/order.js';
import type { ProductProps } from '../../domain/product/product.js';
import type { UserProps } from '../../domain/user/user.js';

/** A campaign as its table holds it: with the instant it was created. */
export interface CouponRecord extends CouponProps {
  createdAt: Date;
}

export interface UserCouponRecord {
  id: number;
  couponId: number;
  userId: number;
  issuedAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  orderId: number | null;
}

/** An outbox row: the event to send (its type and body), and how its delivery stands. */
export interface OutboxRecord {
  readonly event: DataPlatformEvent;
  /** The cancellation an ORDER_CANCELLED event tells of, where its writer named it. */
  readonly cancellationId: number | null;
  delivery: DeliveryProps;
  /** Its attempts, the latest KEPT_ATTEMPTS, oldest first. */
  attempts?: DeliveryAttempt[];
  /** Operator retries and redeliveries so far (0 when none). */
  generation?: number;
  /** The trace of the request that wrote it; null when it had none. */
  readonly traceContext?: TraceContext | null;
}

export interface RefreshFamilyRecord {
  userId: number;
  expiresAt: Date;
  endedAt: Date | null;
}

/** Plain data only, so a unit of work can snapshot it with structuredClone and roll back. */
export interface InMemoryState {
  users: Map<number, UserProps>;
  balances: Map<number, BalanceProps>;
  ledger: LedgerEntry[];
  products: Map<number, ProductProps>;
  stockAdjustments: StockAdjustment[];
  coupons: Map<number, CouponRecord>;
  userCoupons: Map<number, UserCouponRecord>;
  orders: Map<number, OrderProps>;
  outbox: OutboxRecord[];
  idempotencyKeys: Map<string, IdempotencyRecord>;
  /** Units sold, keyed by 'YYYY-MM-DD|productId'. */
  dailySales: Map<string, number>;
  sequences: Record<string, number>;
  /** Password credentials by user id. */
  credentials: Map<number, { email: string; passwordHash: string }>;
  /** JSON of [issuer, subject] → user id. */
  externalIdentities: Map<string, number>;
  tokenVersions: Map<number, number>;
  /** The last logout-all of each user who has logged out everywhere. */
  tokensNotBefore: Map<number, Date>;
  refreshFamilies: Map<number, RefreshFamilyRecord>;
  refreshTokens: Map<string, { familyId: number; spentAt: Date | null }>;
  loginAttempts: { id: number; emailKey: string; clientAddress: string; at: Date }[];
  /** Appended to only, as the table's trigger and privileges keep it. */
  auditLog: AuditEntry[];
}

/** The tables of the in-memory adapters: for unit tests of use cases and for demos, never production. */
export class InMemoryStore {
  state: InMemoryState = {
    users: new Map(),
    balances: new Map(),
    ledger: [],
    products: new Map(),
    stockAdjustments: [],
    coupons: new Map(),
    userCoupons: new Map(),
    orders: new Map(),
    outbox: [],
    idempotencyKeys: new Map(),
    dailySales: new Map(),
    sequences: {},
    credentials: new Map(),
    externalIdentities: new Map(),
    tokenVersions: new Map(),
    tokensNotBefore: new Map(),
    refreshFamilies: new Map(),
    refreshTokens: new Map(),
    loginAttempts: [],
    auditLog: [],
  };

  nextId(sequence: string): number {
    const next = (this.state.sequences[sequence] ?? 0) + 1;
    this.state.sequences[sequence] = next;
    return next;
  }
}
