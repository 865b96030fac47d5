import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { SERVICE_ADMIN, logIn, signedAccessToken } from '../../support/service-process.js';
import { between, pick, seededRandom } from './random.js';

/** A service process the load is sent to; `origin` is read at each request, so it may change across restarts. */
export interface Target {
  readonly name: string;
  readonly origin: string;
}

export type OpName = 'charge' | 'issue' | 'order' | 'order+coupon' | 'cancel' | 'cancel-part' | 'read';

/** One HTTP request as the client saw it. Times are performance.now() in the test process. */
export interface RequestRecord {
  readonly op: OpName;
  readonly path: string;
  readonly target: string;
  readonly keyed: boolean;
  /** 0 for the first try of an operation, then 1, 2… for its retries. */
  readonly attempt: number;
  readonly startedAt: number;
  readonly endedAt: number;
  /** An HTTP status, or how the request failed without one. */
  readonly status: number | 'refused' | 'network' | 'timeout';
  readonly code?: string | undefined;
  readonly retryAfter?: string | undefined;
  readonly error?: string | undefined;
}

export interface PaidOrder {
  readonly orderId: number;
  readonly userId: number;
  readonly paidAmount: number;
  readonly totalAmount: number;
  readonly userCouponId: number | null;
  readonly keyed: boolean;
  /** The order's lines as paid. */
  readonly items: readonly { productId: number; quantity: number }[];
}

/** An order as a 200 to a cancellation showed it: its state once that cancellation (and every one before) was made. */
export interface CancelledView {
  readonly status: 'PAID' | 'PARTIALLY_CANCELLED' | 'CANCELLED';
  readonly refundedAmount: number;
  /** cancelledQuantity per product. */
  readonly cancelled: ReadonlyMap<number, number>;
}

/** One cancellation the load asked for, and what the client was told of it. */
export interface CancelRecord {
  readonly orderId: number;
  /** Everything left (no items), or one unit of `productId`. */
  readonly whole: boolean;
  readonly productId: number | undefined;
  readonly admin: boolean;
  readonly keyed: boolean;
  /** The load knew the order (or that line) to be cancelled already: a 409 ORDER_NOT_CANCELLABLE is expected. */
  readonly knownGone: boolean;
  /** One of two cancellations of everything left sent at the same moment. */
  readonly twin: boolean;
  /** Requests made to learn the outcome (1 when the first answer told it). */
  readonly requests: number;
  readonly replayed: boolean;
  readonly outcome:
    | { readonly kind: 'ok'; readonly view: CancelledView }
    | { readonly kind: 'rejected'; readonly status: number; readonly code: string | undefined }
    | { readonly kind: 'unknown'; readonly why: string };
}

export interface Shop {
  readonly users: number[];
  /** Each user's own access token: customers act for themselves. */
  readonly tokens: ReadonlyMap<number, string>;
  /** The administrator's, who set the shop up and now and then acts for a customer (a back office). */
  readonly adminToken: string;
  /** Plenty of stock. */
  readonly products: { id: number; price: number }[];
  /** Little stock: orders for it run out and are refused (rolled back). */
  readonly hotProduct: { id: number; price: number };
  readonly coupons: number[];
  /** The charge each user started with. */
  readonly initialCharge: number;
}

export interface LoadOptions {
  readonly clients: number;
  /** The load stops by itself after this long, whatever else happens. */
  readonly maxDurationMs: number;
  /** And after this many operations (retries not counted). */
  readonly maxOps: number;
  /** Each request is abandoned after this long (counted as a timeout). */
  readonly requestTimeoutMs: number;
  /** How long after `stop()` a write with an Idempotency-Key keeps being retried to learn its outcome. */
  readonly retryWindowMs: number;
  /** The share of writes sent with an Idempotency-Key (and retried with it). */
  readonly keyedShare: number;
  /** The share of operations the administrator makes for the customer; the customer makes the rest. */
  readonly adminShare: number;
  readonly seed: number;
}

const DEFAULTS: Omit<LoadOptions, 'seed'> = {
  clients: 8,
  maxDurationMs: 90_000,
  maxOps: 50_000,
  requestTimeoutMs: 10_000,
  retryWindowMs: 15_000,
  keyedShare: 0.6,
  adminShare: 0.1,
};

type Sent =
  | {
      kind: 'answer';
      status: number;
      code?: string | undefined;
      body: unknown;
      replayed: boolean;
      retryAfter?: string | undefined;
    }
  | { kind: 'refused' | 'network' | 'timeout'; error: string };

/** What a write ended as, from the client's side. */
type Final =
  | { kind: 'ok'; body: unknown; keyed: boolean; replayed: boolean; requests: number }
  | { kind: 'rejected'; status: number; code: string | undefined; keyed: boolean; requests: number }
  | { kind: 'unknown'; why: string; keyed: boolean; requests: number };

const API = '/api/v1';

/** Who an operation is made by: the customer `userId`, or the administrator for them. */
interface Actor {
  readonly userId: number;
  readonly admin: boolean;
  readonly token: string;
}

/** Plain JSON requests for setting up, as the administrator, retried briefly on network errors and 503. */
async function adminRequest<T>(
  origin: string,
  token: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  idempotencyKey?: string,
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(`${origin}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const parsed = (await response.json()) as T;
      if (response.status !== 503 || attempt >= 20) return { status: response.status, body: parsed };
    } catch (error) {
      if (attempt >= 20) throw error;
    }
    await sleep(250);
  }
}

async function created<T>(
  origin: string,
  token: string,
  path: string,
  body: unknown,
  idempotencyKey?: string,
): Promise<T> {
  const answer = await adminRequest<T>(origin, token, 'POST', path, body, idempotencyKey);
  if (answer.status !== 201 && answer.status !== 200)
    throw new Error(`POST ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/**
 * A small shop, set up by the administrator (logged in as SERVICE_ADMIN): users with money, each with an
 * access token of their own, products (one scarce), coupon campaigns (two that sell out).
 */
export async function setupShop(origin: string, { users = 16, initialCharge = 300_000 } = {}): Promise<Shop> {
  const { accessToken: adminToken } = await logIn(origin, SERVICE_ADMIN);
  const post = <T>(path: string, body: unknown, idempotencyKey?: string) =>
    created<T>(origin, adminToken, path, body, idempotencyKey);
  const userIds: number[] = [];
  const tokens = new Map<number, string>();
  for (let i = 0; i < users; i++) {
    const user = await post<{ id: number }>(`${API}/admin/users`, { name: `load-user-${i}` });
    tokens.set(user.id, await signedAccessToken(user.id));
    await post(`${API}/users/${user.id}/balance/charge`, { amount: initialCharge }, `setup-charge-${user.id}`);
    userIds.push(user.id);
  }
  const products: { id: number; price: number }[] = [];
  for (let i = 0; i < 8; i++) {
    const price = 1_000 * (i + 1);
    const product = await post<{ id: number }>(`${API}/admin/products`, {
      name: `load-product-${i}`,
      price,
      stock: 100_000,
    });
    products.push({ id: product.id, price });
  }
  const hot = await post<{ id: number }>(`${API}/admin/products`, {
    name: 'load-hot-product',
    price: 700,
    stock: 40,
  });
  const coupons: number[] = [];
  for (const [discountType, discountValue, totalQuantity] of [
    ['FIXED', 2_000, 10_000],
    ['PERCENT', 10, 10_000],
    ['PERCENT', 50, 4],
    ['FIXED', 5_000, 6],
  ] as const) {
    const coupon = await post<{ id: number }>(`${API}/admin/coupons`, {
      name: `load-${discountType}-${discountValue}`,
      discountType,
      discountValue,
      totalQuantity,
      validDays: 7,
    });
    coupons.push(coupon.id);
  }
  return {
    users: userIds,
    tokens,
    adminToken,
    products,
    hotProduct: { id: hot.id, price: 700 },
    coupons,
    initialCharge,
  };
}

/**
 * The mixed load: `clients` concurrent loops, each doing charges, coupon issues, orders with and without
 * a coupon, cancellations of paid orders (everything left, or one unit of one line), and reads, spread over
 * the targets. Writes carry an Idempotency-Key in `keyedShare` of cases and are then retried with the same key
 * on network errors, 5xx and IDEMPOTENCY_KEY_IN_USE until their outcome is known; writes without a key are
 * retried only when the connection was refused (never sent). It records every request and what it was told:
 * orders paid (201), charges confirmed, coupons issued, each cancellation's answer (the order as it was after
 * it, or why not).
 */
export class LoadDriver {
  readonly records: RequestRecord[] = [];
  readonly paid = new Map<number, PaidOrder>();
  /** Confirmed charges per user, the initial one included. */
  readonly charged = new Map<number, number>();
  /** Charges whose outcome the client never learnt, per user (they may or may not have happened). */
  readonly unknownCharges = new Map<number, number>();
  /** Order attempts whose outcome the client never learnt. */
  unknownOrders = 0;
  /** Coupon copies issued (201), by user coupon id. */
  readonly issued = new Map<number, { userId: number; couponId: number }>();
  unknownIssues = 0;
  /** Every cancellation asked for, with what the client was told. */
  readonly cancels: CancelRecord[] = [];
  /** Coupon copies freed by a cancellation the client saw, then sent with a new order. */
  reusedCopies = 0;
  /** Cancellations of everything left sent twice at the same moment. */
  twinPairs = 0;
  /** Successful answers that were replays of a first request (Idempotent-Replayed: true). */
  replays = 0;
  /** Operations begun (retries not counted) and outcomes per operation. */
  readonly ops = new Map<OpName, Map<string, number>>();
  private readonly options: LoadOptions;
  private readonly random: () => number;
  private readonly agent = new Agent({ connections: 64, keepAliveTimeout: 2_000, pipelining: 1 });
  private readonly available = new Map<number, number[]>();
  /** What the client has seen cancelled, per order and product (the most any answer showed). */
  private readonly seenCancelled = new Map<number, Map<number, number>>();
  /** Orders the client knows to be cancelled in full. */
  private readonly gone = new Set<number>();
  /** Copies freed by a cancellation, not yet sent again. */
  private readonly freed = new Set<number>();
  private readonly runId: string;
  private startedAt = 0;
  private stopAt = Number.POSITIVE_INFINITY;
  private begun = 0;
  private running: Promise<void>[] = [];
  private stopped: Promise<void> | undefined;
  private keySeq = 0;

  constructor(
    private readonly shop: Shop,
    private readonly targets: readonly Target[],
    options: Partial<LoadOptions> & { seed: number },
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.random = seededRandom(this.options.seed);
    this.runId = `${this.options.seed.toString(36)}-${Date.now().toString(36)}`;
    for (const user of shop.users) this.charged.set(user, shop.initialCharge);
  }

  get operations(): number {
    return this.begun;
  }

  /** Cancellations answered 200. */
  get cancelled(): number {
    return this.cancels.filter((cancel) => cancel.outcome.kind === 'ok').length;
  }

  start(): this {
    this.startedAt = performance.now();
    this.stopAt = this.startedAt + this.options.maxDurationMs;
    this.running = Array.from({ length: this.options.clients }, (_, client) => this.client(client));
    return this;
  }

  /** No new operations; resolves once those under way have settled (their retries bounded by retryWindowMs). */
  stop(): Promise<void> {
    this.stopAt = Math.min(this.stopAt, performance.now());
    this.stopped ??= Promise.all(this.running).then(() => this.agent.close());
    return this.stopped;
  }

  /** One line per operation: `order 812 (ok 640, 409 INSUFFICIENT_BALANCE 12, …)`. */
  describe(): string {
    return [...this.ops]
      .map(([op, outcomes]) => {
        const total = [...outcomes.values()].reduce((sum, n) => sum + n, 0);
        const parts = [...outcomes].sort((a, b) => b[1] - a[1]).map(([label, n]) => `${label} ${n}`);
        return `${op} ${total} (${parts.join(', ')})`;
      })
      .join('; ');
  }

  private async client(client: number): Promise<void> {
    while (performance.now() < this.stopAt && this.begun < this.options.maxOps) {
      this.begun++;
      const roll = this.random();
      const userId = pick(this.random, this.shop.users);
      const by = this.actorFor(userId);
      if (roll < 0.18) await this.charge(client, by);
      else if (roll < 0.3) await this.issue(client, by);
      else if (roll < 0.58) await this.order(client, by, false);
      else if (roll < 0.7) await this.order(client, by, true);
      else {
        // A tenth of operations cancel (half of them everything left, half one unit); a read when there is no
        // order to cancel yet.
        const cancelled = roll < 0.8 && (await this.cancel(client, by, roll < 0.75));
        if (!cancelled) await this.read(client, by);
      }
      await sleep(between(this.random, 0, 15));
    }
  }

  /** Who makes an operation for `userId`: mostly the customer, now and then the administrator. */
  private actorFor(userId: number): Actor {
    const admin = this.random() < this.options.adminShare;
    return { userId, admin, token: admin ? this.shop.adminToken : this.shop.tokens.get(userId)! };
  }

  private count(op: OpName, label: string): void {
    const outcomes = this.ops.get(op) ?? new Map<string, number>();
    outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
    this.ops.set(op, outcomes);
  }

  private label(final: Final): string {
    if (final.kind === 'ok') return 'ok';
    if (final.kind === 'rejected') return `${final.status}${final.code ? ` ${final.code}` : ''}`;
    return `unknown (${final.why})`;
  }

  private async charge(client: number, by: Actor): Promise<void> {
    const { userId } = by;
    const amount = 1_000 * between(this.random, 1, 50);
    const final = await this.write('charge', client, by, `${API}/users/${userId}/balance/charge`, { amount }, 200);
    this.count('charge', this.label(final));
    if (final.kind === 'ok') this.charged.set(userId, (this.charged.get(userId) ?? 0) + amount);
    else if (final.kind === 'unknown') this.unknownCharges.set(userId, (this.unknownCharges.get(userId) ?? 0) + amount);
  }

  private async issue(client: number, by: Actor): Promise<void> {
    const { userId } = by;
    const couponId = pick(this.random, this.shop.coupons);
    const final = await this.write('issue', client, by, `${API}/coupons/${couponId}/issue`, { userId }, 201);
    this.count('issue', this.label(final));
    if (final.kind === 'ok') {
      const copy = final.body as { userCouponId: number };
      this.issued.set(copy.userCouponId, { userId, couponId });
      this.available.set(userId, [...(this.available.get(userId) ?? []), copy.userCouponId]);
    } else if (final.kind === 'unknown') this.unknownIssues++;
  }

  private async order(client: number, by: Actor, withCoupon: boolean): Promise<void> {
    const { userId } = by;
    const lines = between(this.random, 1, 3);
    const chosen = new Set<number>();
    while (chosen.size < lines) chosen.add(pick(this.random, this.shop.products).id);
    if (this.random() < 0.2) chosen.add(this.shop.hotProduct.id);
    const items = [...chosen].map((productId) => ({ productId, quantity: between(this.random, 1, 3) }));
    const copies = this.available.get(userId) ?? [];
    const userCouponId = withCoupon ? copies.shift() : undefined;
    const reused = userCouponId !== undefined && this.freed.delete(userCouponId);
    const op: OpName = userCouponId === undefined ? 'order' : 'order+coupon';
    const final = await this.write(
      op,
      client,
      by,
      `${API}/orders`,
      { userId, items, ...(userCouponId === undefined ? {} : { userCouponId }) },
      201,
    );
    this.count(op, this.label(final));
    if (final.kind === 'ok') {
      const order = final.body as {
        orderId: number;
        paidAmount: number;
        totalAmount: number;
        userCouponId: number | null;
        userId: number;
        items: { productId: number; quantity: number }[];
      };
      if (reused) this.reusedCopies++;
      this.paid.set(order.orderId, {
        orderId: order.orderId,
        userId: order.userId,
        paidAmount: order.paidAmount,
        totalAmount: order.totalAmount,
        userCouponId: order.userCouponId,
        keyed: final.keyed,
        items: order.items.map(({ productId, quantity }) => ({ productId, quantity })),
      });
    } else if (final.kind === 'unknown') this.unknownOrders++;
  }

  /**
   * A cancellation of a paid order the load knows of: the customer's own, or any for the administrator.
   * `whole`: everything left (no items), now and then twice at the same moment (to different targets when
   * there are two), where one takes what is left and the other is 409 ORDER_NOT_CANCELLABLE; otherwise one
   * unit of a line the client has not seen cancelled in full. Mostly an order (a line) with something left as
   * far as the client knows; a tenth of the time one it knows is gone, to be refused. False when there is no
   * order to cancel yet (nothing sent).
   */
  private async cancel(client: number, by: Actor, whole: boolean): Promise<boolean> {
    const mine = [...this.paid.values()].filter((order) => by.admin || order.userId === by.userId);
    const left = (order: PaidOrder) =>
      order.items.filter((line) => (this.seenCancelled.get(order.orderId)?.get(line.productId) ?? 0) < line.quantity);
    const open = mine.filter((order) => !this.gone.has(order.orderId) && left(order).length > 0);
    const gone = mine.filter((order) => this.gone.has(order.orderId));
    const knownGone = open.length === 0 || (gone.length > 0 && this.random() < 0.1);
    if (knownGone && gone.length === 0) return false;
    const order = pick(this.random, knownGone ? gone : open);
    const productId = whole ? undefined : pick(this.random, knownGone ? order.items : left(order)).productId;
    const body = productId === undefined ? {} : { items: [{ productId, quantity: 1 }] };
    const path = `${API}/orders/${order.orderId}/cancel`;
    const op: OpName = whole ? 'cancel' : 'cancel-part';
    const once = async (twin: boolean, sender: number) => {
      const final = await this.write(op, sender, by, path, body, 200);
      this.count(op, this.label(final));
      this.learn(order, { whole, productId, admin: by.admin, knownGone, twin }, final);
    };
    if (whole && !knownGone && this.random() < 0.15) {
      this.twinPairs++;
      await Promise.all([once(true, client), once(true, client + 1)]);
    } else await once(false, client);
    return true;
  }

  /** Keeps what a cancellation's answer told, and what the client now knows of the order. */
  private learn(
    order: PaidOrder,
    asked: Pick<CancelRecord, 'whole' | 'productId' | 'admin' | 'knownGone' | 'twin'>,
    final: Final,
  ): void {
    const base = { orderId: order.orderId, ...asked, keyed: final.keyed, requests: final.requests };
    if (final.kind === 'ok') {
      const answer = final.body as {
        status: CancelledView['status'];
        refundedAmount: number;
        items: { productId: number; cancelledQuantity: number }[];
      };
      const view: CancelledView = {
        status: answer.status,
        refundedAmount: answer.refundedAmount,
        cancelled: new Map(answer.items.map((item) => [item.productId, item.cancelledQuantity])),
      };
      this.cancels.push({ ...base, replayed: final.replayed, outcome: { kind: 'ok', view } });
      const seen = this.seenCancelled.get(order.orderId) ?? new Map<number, number>();
      for (const [productId, quantity] of view.cancelled)
        seen.set(productId, Math.max(seen.get(productId) ?? 0, quantity));
      this.seenCancelled.set(order.orderId, seen);
      // The copy it paid with is free again: the customer may spend it on another order.
      if (view.status === 'CANCELLED' && !this.gone.has(order.orderId)) {
        this.gone.add(order.orderId);
        if (order.userCouponId !== null) {
          this.freed.add(order.userCouponId);
          this.available.set(order.userId, [...(this.available.get(order.userId) ?? []), order.userCouponId]);
        }
      }
      return;
    }
    this.cancels.push({
      ...base,
      replayed: false,
      outcome:
        final.kind === 'rejected'
          ? { kind: 'rejected', status: final.status, code: final.code }
          : { kind: 'unknown', why: final.why },
    });
    // Nothing left to take: of the whole order, or of that line.
    if (final.kind === 'rejected' && final.code === 'ORDER_NOT_CANCELLABLE') {
      if (asked.productId === undefined) this.gone.add(order.orderId);
      else {
        const seen = this.seenCancelled.get(order.orderId) ?? new Map<number, number>();
        const line = order.items.find((item) => item.productId === asked.productId);
        seen.set(asked.productId, line?.quantity ?? 0);
        this.seenCancelled.set(order.orderId, seen);
      }
    }
  }

  /** `12 cancelled (5 whole, 7 one unit; …), 3 × 409 ORDER_NOT_CANCELLABLE (…), 1 unknown`. */
  describeCancellations(): string {
    const ok = this.cancels.filter((c) => c.outcome.kind === 'ok');
    const refused = this.cancels.filter(
      (c) => c.outcome.kind === 'rejected' && c.outcome.code === 'ORDER_NOT_CANCELLABLE',
    );
    const other = this.cancels.filter(
      (c) => c.outcome.kind === 'rejected' && c.outcome.code !== 'ORDER_NOT_CANCELLABLE',
    ).length;
    const unknown = this.cancels.filter((c) => c.outcome.kind === 'unknown').length;
    return (
      `${this.cancels.length} asked, ${ok.length} cancelled (${ok.filter((c) => c.whole).length} in full, ${ok.filter((c) => !c.whole).length} one unit; ` +
      `${ok.filter((c) => c.keyed).length} with a key, ${ok.filter((c) => c.requests > 1).length} learnt by a retry, ${ok.filter((c) => c.replayed).length} replayed; ` +
      `${ok.filter((c) => c.admin).length} by the admin), ${refused.length} × 409 ORDER_NOT_CANCELLABLE (${refused.filter((c) => c.knownGone).length} on what the client knew gone, ` +
      `${refused.filter((c) => !c.knownGone).length} taken by another cancellation first), ${other} other refusals, ${unknown} unknown; ${this.twinPairs} pairs sent at once; ` +
      `${this.reusedCopies} freed coupon copies paid again`
    );
  }

  private async read(client: number, by: Actor): Promise<void> {
    const { userId, token } = by;
    // A customer reads their own orders (another's is 404 to them); the administrator any.
    const known = [...this.paid.values()].filter((order) => by.admin || order.userId === userId);
    // [path, token]: the product and coupon reads are public, and sent without one.
    const reads: [string, string | undefined][] = [
      [`${API}/users/${userId}/balance`, token],
      [`${API}/users/${userId}/balance/history?limit=5`, token],
      [`${API}/products/${pick(this.random, this.shop.products).id}`, undefined],
      [`${API}/products?limit=20`, undefined],
      [`${API}/products/popular`, undefined],
      [`${API}/users/${userId}/orders?limit=5`, token],
      [`${API}/users/${userId}/coupons`, token],
      [`${API}/coupons/${pick(this.random, this.shop.coupons)}`, undefined],
      ...(known.length > 0
        ? [[`${API}/orders/${pick(this.random, known).orderId}`, token] as [string, string | undefined]]
        : []),
    ];
    const [path, readToken] = pick(this.random, reads);
    for (let attempt = 0; ; attempt++) {
      const sent = await this.send('read', client, attempt, 'GET', path, undefined, undefined, readToken);
      const retry = sent.kind !== 'answer' || sent.status === 503;
      if (!retry || performance.now() > this.stopAt || attempt >= 3) {
        this.count('read', sent.kind === 'answer' ? `${sent.status}` : sent.kind);
        return;
      }
      await this.backoff(attempt);
    }
  }

  /**
   * A write until its outcome is known: `ok` with the body on `success`, `rejected` on a business answer,
   * `unknown` when the client cannot tell whether it happened.
   */
  private async write(
    op: OpName,
    client: number,
    by: Actor,
    path: string,
    body: unknown,
    success: number,
  ): Promise<Final> {
    const key = this.random() < this.options.keyedShare ? `${this.runId}-${client}-${++this.keySeq}` : undefined;
    const keyed = key !== undefined;
    for (let attempt = 0; ; attempt++) {
      const requests = attempt + 1;
      // Every retry as the same caller: a key is theirs alone.
      const sent = await this.send(op, client, attempt, 'POST', path, body, key, by.token);
      if (sent.kind === 'answer') {
        if (sent.status === success) {
          if (sent.replayed) this.replays++;
          return { kind: 'ok', body: sent.body, keyed, replayed: sent.replayed, requests };
        }
        const inUse = sent.status === 409 && sent.code === 'IDEMPOTENCY_KEY_IN_USE';
        // With a key a 5xx is safe to retry: it is never kept with the key, so the retry runs afresh.
        const retry = keyed && (sent.status >= 500 || inUse);
        if (!retry) {
          if (sent.status >= 500) return { kind: 'unknown', why: `${sent.status}`, keyed, requests };
          return { kind: 'rejected', status: sent.status, code: sent.code, keyed, requests };
        }
      } else if (sent.kind !== 'refused' && !keyed) {
        return { kind: 'unknown', why: sent.kind, keyed, requests };
      }
      // Retried: a refused connection (nothing sent), or a keyed write whose outcome is still unknown.
      if (performance.now() > this.stopAt + this.options.retryWindowMs)
        return { kind: 'unknown', why: 'gave up retrying', keyed, requests };
      await this.backoff(attempt);
    }
  }

  private async backoff(attempt: number): Promise<void> {
    const cap = Math.min(1_000, 100 * 2 ** attempt);
    await sleep(cap / 2 + this.random() * (cap / 2));
  }

  private async send(
    op: OpName,
    client: number,
    attempt: number,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    key: string | undefined,
    token: string | undefined,
  ): Promise<Sent> {
    // Clients are spread over the targets, and a retry goes to the next one.
    const target = this.targets[(client + attempt) % this.targets.length]!;
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (key !== undefined) headers['idempotency-key'] = key;
    const signal = AbortSignal.timeout(this.options.requestTimeoutMs);
    const startedAt = performance.now();
    let sent: Sent;
    try {
      const response = await request(`${target.origin}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: this.agent,
        signal,
      });
      const text = await response.body.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
      const header = (name: string) => {
        const value = response.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      const code = typeof parsed === 'object' && parsed !== null && 'code' in parsed ? String(parsed.code) : undefined;
      sent = {
        kind: 'answer',
        status: response.statusCode,
        code,
        body: parsed,
        replayed: header('idempotent-replayed') === 'true',
        retryAfter: header('retry-after'),
      };
    } catch (error) {
      const code = errorCode(error);
      const message = `${error instanceof Error ? error.message : String(error)}${code ? ` (${code})` : ''}`;
      if (signal.aborted) sent = { kind: 'timeout', error: message };
      else if (code === 'ECONNREFUSED') sent = { kind: 'refused', error: message };
      else sent = { kind: 'network', error: message };
    }
    this.records.push({
      op,
      path,
      target: target.name,
      keyed: key !== undefined,
      attempt,
      startedAt,
      endedAt: performance.now(),
      status: sent.kind === 'answer' ? sent.status : sent.kind,
      code: sent.kind === 'answer' ? sent.code : undefined,
      retryAfter: sent.kind === 'answer' ? sent.retryAfter : undefined,
      error: sent.kind === 'answer' ? undefined : sent.error,
    });
    return sent;
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errors, cause } = error as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
  if (Array.isArray(errors)) {
    const inner = errors.map(errorCode).find(Boolean);
    if (inner) return inner;
  }
  return errorCode(cause) ?? (typeof code === 'string' ? code : undefined);
}
