import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../../../src/adapters/postgres/database.js';
import { type InvariantResult, checkInvariants } from '../../../src/adapters/postgres/invariants.js';
import type { CancelRecord, LoadDriver, RequestRecord } from './load.js';
import type { FaultReceiver, ReceivedAttempt } from './receiver.js';
import type { ServiceInstance } from './service.js';

const SHOP_TIMEZONE = 'Asia/Seoul';

/** The data platform settings every fault test runs the service with: quick retries, short attempts. */
export const FAST_DELIVERY_ENV = {
  DATA_PLATFORM_BACKOFF_BASE_MS: '100',
  DATA_PLATFORM_BACKOFF_CAP_MS: '1000',
  DATA_PLATFORM_TIMEOUT_MS: '500',
  // An outage of tens of seconds at a 1 s cap is far more than the default 10 attempts; nothing must be
  // parked as FAILED here (100, the most allowed, is about 100 s of outage).
  DATA_PLATFORM_MAX_ATTEMPTS: '100',
  SHOP_TIMEZONE,
} as const;

/** The invariants, and one line for the summary: `8/8 hold` or the broken ones with examples. */
export async function invariants(
  db: Db,
): Promise<{ results: InvariantResult[]; broken: InvariantResult[]; line: string }> {
  const results = await checkInvariants(db, SHOP_TIMEZONE);
  const broken = results.filter((result) => !result.holds);
  const line =
    broken.length === 0
      ? `${results.length}/${results.length} hold (${results.map((result) => result.name.split(':')[0]).join(', ')})`
      : `${broken.length} of ${results.length} BROKEN: ${broken.map((result) => `${result.name.split(':')[0]} (${result.violations}: ${JSON.stringify(result.examples)})`).join('; ')}`;
  return { results, broken, line };
}

/**
 * What the clients were told against what is stored: every order told 201 exists as told; no more
 * orders, charges or coupon copies exist than were confirmed plus those whose outcome the client never
 * learnt; every cancellation agrees with the stored ones (see `cancellationsToldVersusStored`). Returns the
 * discrepancies, none when all agree.
 */
export async function toldVersusStored(db: Db, load: LoadDriver): Promise<string[]> {
  const problems: string[] = [];
  const orders = await db
    .selectFrom('orders')
    .select(['id', 'user_id', 'paid_amount', 'total_amount', 'user_coupon_id'])
    .execute();
  const stored = new Map(orders.map((order) => [order.id, order]));
  for (const told of load.paid.values()) {
    const order = stored.get(told.orderId);
    if (!order) problems.push(`order ${told.orderId} was answered 201 but does not exist`);
    else if (
      order.user_id !== told.userId ||
      order.paid_amount !== told.paidAmount ||
      order.total_amount !== told.totalAmount ||
      order.user_coupon_id !== told.userCouponId
    ) {
      problems.push(
        `order ${told.orderId} differs from its 201: stored ${JSON.stringify(order)}, told ${JSON.stringify(told)}`,
      );
    }
  }
  const untold = orders.length - load.paid.size;
  if (untold > load.unknownOrders)
    problems.push(
      `${untold} orders exist that no client was told of, but only ${load.unknownOrders} outcomes are unknown`,
    );

  const charges = await db
    .selectFrom('balance_ledger')
    .select(['user_id', (eb) => eb.fn.sum<number>('amount').as('charged')])
    .where('type', '=', 'CHARGE')
    .groupBy('user_id')
    .execute();
  const chargedInDb = new Map(charges.map((row) => [row.user_id, Number(row.charged)]));
  for (const [userId, confirmed] of load.charged) {
    const inDb = chargedInDb.get(userId) ?? 0;
    const unknown = load.unknownCharges.get(userId) ?? 0;
    if (inDb < confirmed || inDb > confirmed + unknown) {
      problems.push(
        `user ${userId}: ${inDb} charged in the ledger, ${confirmed} confirmed to clients, ${unknown} unknown`,
      );
    }
  }

  const copies = await db.selectFrom('user_coupons').select(['id', 'user_id', 'coupon_id']).execute();
  const copyById = new Map(copies.map((copy) => [copy.id, copy]));
  for (const [id, told] of load.issued) {
    const copy = copyById.get(id);
    if (!copy || copy.user_id !== told.userId || copy.coupon_id !== told.couponId)
      problems.push(`coupon copy ${id} answered 201 but stored as ${JSON.stringify(copy)}`);
  }
  if (copies.length - load.issued.size > load.unknownIssues) {
    problems.push(
      `${copies.length - load.issued.size} coupon copies exist that no client was told of, only ${load.unknownIssues} unknown`,
    );
  }
  problems.push(...(await cancellationsToldVersusStored(db, load)));
  return problems;
}

/** An order's state after its first k stored cancellations (k from 1), and what the k-th one took. */
interface CancelledState {
  readonly cancellationId: number;
  /** Units cancelled so far, all lines together: each cancellation takes at least one, so this names the state. */
  readonly units: number;
  readonly cancelled: ReadonlyMap<number, number>;
  readonly refunded: number;
  readonly took: ReadonlyMap<number, number>;
}

const sumOf = (values: Iterable<number>) => [...values].reduce((sum, n) => sum + n, 0);
const mapText = (map: ReadonlyMap<number, number>) =>
  `{${[...map]
    .sort((a, b) => a[0] - b[0])
    .map(([productId, quantity]) => `${productId}: ${quantity}`)
    .join(', ')}}`;

/**
 * The cancellations the clients were told of against those stored. One order's cancellations are made one
 * after the other (each waits for the order's row), so the stored ones in id order are its history, and a 200
 * shows the order as it was after its own: that state must be one of the history's, cancelled quantities and
 * cumulative refund alike, the stored cancellation it names must have taken what was asked (everything left, or
 * one unit of that line), and no two answers may name the same one. A 409 ORDER_NOT_CANCELLABLE says that
 * nothing was left of the order (or of the line) at the time, so nothing is at the end either. And no order has
 * more stored cancellations than answers of 200 and outcomes the client never learnt: a keyed cancellation learnt
 * by a retry, or replayed, took effect once.
 */
async function cancellationsToldVersusStored(db: Db, load: LoadDriver): Promise<string[]> {
  const problems: string[] = [];
  const [lines, cancellations, cancelledLines] = await Promise.all([
    db.selectFrom('order_lines').select(['order_id', 'product_id', 'quantity']).execute(),
    db.selectFrom('order_cancellations').select(['id', 'order_id', 'refund_amount']).orderBy('id').execute(),
    db.selectFrom('order_cancellation_lines').select(['cancellation_id', 'product_id', 'quantity']).execute(),
  ]);
  const linesOf = new Map<number, Map<number, number>>();
  for (const line of lines) {
    const of = linesOf.get(line.order_id) ?? new Map<number, number>();
    of.set(line.product_id, line.quantity);
    linesOf.set(line.order_id, of);
  }
  const tookBy = new Map<number, Map<number, number>>();
  for (const line of cancelledLines) {
    const took = tookBy.get(line.cancellation_id) ?? new Map<number, number>();
    took.set(line.product_id, line.quantity);
    tookBy.set(line.cancellation_id, took);
  }
  const history = new Map<number, CancelledState[]>();
  for (const cancellation of cancellations) {
    const states = history.get(cancellation.order_id) ?? [];
    const before = states.at(-1);
    const took = tookBy.get(cancellation.id) ?? new Map<number, number>();
    const cancelled = new Map(before?.cancelled ?? []);
    for (const [productId, quantity] of took) cancelled.set(productId, (cancelled.get(productId) ?? 0) + quantity);
    states.push({
      cancellationId: cancellation.id,
      units: sumOf(cancelled.values()),
      cancelled,
      refunded: (before?.refunded ?? 0) + cancellation.refund_amount,
      took,
    });
    history.set(cancellation.order_id, states);
  }

  const asked = new Map<number, CancelRecord[]>();
  for (const cancel of load.cancels) asked.set(cancel.orderId, [...(asked.get(cancel.orderId) ?? []), cancel]);
  for (const [orderId, cancels] of asked) {
    const ordered = linesOf.get(orderId) ?? new Map<number, number>();
    const allUnits = sumOf(ordered.values());
    const states = history.get(orderId) ?? [];
    const last = states.at(-1);
    const historyText = () =>
      states.length === 0
        ? 'none stored'
        : states
            .map((state) => `#${state.cancellationId} took ${mapText(state.took)}, refunded ${state.refunded} in all`)
            .join(', ');
    const named = new Map<number, CancelRecord>();
    for (const cancel of cancels) {
      const what = `cancellation of ${cancel.whole ? 'everything left' : `one unit of product ${cancel.productId}`} of order ${orderId}`;
      const how = `${cancel.keyed ? 'keyed' : 'no key'}, ${cancel.requests} request(s)${cancel.replayed ? ', replayed' : ''}${cancel.twin ? ', with a twin' : ''}`;
      const { outcome } = cancel;
      if (outcome.kind === 'ok') {
        const { view } = outcome;
        const units = sumOf(view.cancelled.values());
        const k = states.findIndex((state) => state.units === units);
        const state = states[k];
        const told = `${view.status}, ${mapText(view.cancelled)} cancelled, refunded ${view.refundedAmount}`;
        if (!state) {
          problems.push(`${what} (${how}) was answered 200 (${told}), a state its history never had: ${historyText()}`);
          continue;
        }
        const products = new Set([...ordered.keys(), ...view.cancelled.keys()]);
        const agrees = [...products].every(
          (productId) => (state.cancelled.get(productId) ?? 0) === (view.cancelled.get(productId) ?? 0),
        );
        const status = units === allUnits ? 'CANCELLED' : 'PARTIALLY_CANCELLED';
        if (!agrees || state.refunded !== view.refundedAmount || view.status !== status)
          problems.push(`${what} (${how}) was answered 200 (${told}), but its history says: ${historyText()}`);
        const tookAsked = cancel.whole
          ? state.units === allUnits
          : state.took.size === 1 && state.took.get(cancel.productId!) === 1;
        if (!tookAsked)
          problems.push(
            `${what} (${how}) was answered 200 (${told}) by #${state.cancellationId}, which took ${mapText(state.took)}`,
          );
        const other = named.get(k);
        if (other)
          problems.push(
            `${what} (${how}) and another (${askedText(other)}) were both answered with #${state.cancellationId}`,
          );
        named.set(k, cancel);
      } else if (outcome.kind === 'rejected') {
        const nothingLeft = cancel.whole
          ? (last?.units ?? 0) === allUnits
          : (last?.cancelled.get(cancel.productId!) ?? 0) === ordered.get(cancel.productId!);
        if (outcome.code !== 'ORDER_NOT_CANCELLABLE')
          problems.push(`${what} (${how}) was answered ${outcome.status} ${outcome.code ?? ''}`);
        else if (!nothingLeft)
          problems.push(
            `${what} (${how}) was answered 409 ORDER_NOT_CANCELLABLE, but some is left at the end: ${historyText()} of ${mapText(ordered)}`,
          );
      }
    }
    const answered = cancels.filter((cancel) => cancel.outcome.kind === 'ok').length;
    const unknown = cancels.filter((cancel) => cancel.outcome.kind === 'unknown').length;
    if (states.length > answered + unknown)
      problems.push(
        `order ${orderId}: ${states.length} cancellations stored (${historyText()}), but only ${answered} were answered 200 ` +
          `and ${unknown} are of unknown outcome; asked: ${cancels.map(askedText).join('; ')}`,
      );
  }
  for (const [orderId, states] of history) {
    if (!asked.has(orderId))
      problems.push(`order ${orderId} has ${states.length} cancellations stored, but no client asked for one`);
  }
  return problems.length <= MAX_CANCELLATION_PROBLEMS
    ? problems
    : [
        ...problems.slice(0, MAX_CANCELLATION_PROBLEMS),
        `and ${problems.length - MAX_CANCELLATION_PROBLEMS} more about cancellations`,
      ];
}

const MAX_CANCELLATION_PROBLEMS = 10;

/** `everything left, keyed, 2 request(s): 200 CANCELLED refunded 9000`, for a report. */
function askedText(cancel: CancelRecord): string {
  const { outcome } = cancel;
  const answer =
    outcome.kind === 'ok'
      ? `200 ${outcome.view.status} refunded ${outcome.view.refundedAmount}${cancel.replayed ? ' (replayed)' : ''}`
      : outcome.kind === 'rejected'
        ? `${outcome.status} ${outcome.code ?? ''}`
        : `unknown (${outcome.why})`;
  return `${cancel.whole ? 'everything left' : `1 × product ${cancel.productId}`}, ${cancel.keyed ? 'keyed' : 'no key'}, ${cancel.requests} request(s)${cancel.twin ? ', with a twin' : ''}: ${answer}`;
}

/** The summary line for a delivery check. */
export function deliveryLine(check: DeliveryCheck): string {
  const events = `${check.events} events (${check.paidEvents} orders paid, ${check.cancellationEvents} cancellations)`;
  const state =
    check.missing === 0
      ? `${events}, all DELIVERED, ${check.waitedMs} ms after the load`
      : `${check.missing} of ${events} NOT DELIVERED (${check.missingCancellations} of them cancellations) after ${check.waitedMs} ms, e.g. ${JSON.stringify(check.missingExamples)}`;
  return (
    `${state}; ${check.requests} requests to the receiver, ${check.retried} events received more than once (max ${check.maxAttemptsForOneEvent}); most attempts by the outbox's count ${check.maxOutboxAttempts}; FAILED ${check.failed}; ` +
    `signatures verified ${check.signaturesVerified} of ${check.requests}; in order of the outbox: ${check.ordersInOrder} of ${check.ordersWithCancellations} orders with cancellations`
  );
}

export interface DeliveryCheck {
  readonly events: number;
  /** Of which ORDER_PAID, and ORDER_CANCELLED (one per stored cancellation, by the outbox invariant). */
  readonly paidEvents: number;
  readonly cancellationEvents: number;
  readonly waitedMs: number;
  /** Requests the receiver got, answered or not. */
  readonly requests: number;
  /** Events that took more than one request. */
  readonly retried: number;
  readonly maxAttemptsForOneEvent: number;
  /** Attempts the outbox counted for its most tried event (refused connections included, which the receiver never sees). */
  readonly maxOutboxAttempts: number;
  /** Outbox rows parked as FAILED. */
  readonly failed: number;
  /** Events not delivered within the wait (none when all were), a few of them. */
  readonly missing: number;
  readonly missingCancellations: number;
  readonly missingExamples: unknown[];
  /** Requests whose Standard Webhooks signature the reference verifier accepted. */
  readonly signaturesVerified: number;
  /** Orders with at least one cancellation event, and of those, the ones whose events arrived in outbox order. */
  readonly ordersWithCancellations: number;
  readonly ordersInOrder: number;
  /** Bodies, keys or signatures that disagree with the outbox, and events delivered out of their order's order. */
  readonly problems: string[];
}

const EXAMPLES = 5;
const at = (ms: number | undefined) => (ms === undefined ? 'never' : `${ms.toFixed(1)} ms`);

/** How far before its arrival an attempt's `webhook-timestamp` may be: its own send, plus a loaded machine's delay. */
const TIMESTAMP_LAG_MS = 5_000;

/**
 * Every request must carry a Standard Webhooks signature that the reference verifier accepts under the tests'
 * secret (FaultReceiver checks on arrival), for its own event (`webhook-id` is the event id) and made for this
 * attempt (`webhook-timestamp` the Unix second it was sent, not that of an earlier attempt). One problem per
 * kind of failure, with examples, so that a broken signer reads as one line, not thousands.
 */
function signatureProblems(attempts: readonly ReceivedAttempt[]): string[] {
  const failures = new Map<string, ReceivedAttempt[]>();
  const add = (kind: string, attempt: ReceivedAttempt) => failures.set(kind, [...(failures.get(kind) ?? []), attempt]);
  for (const attempt of attempts) {
    if (attempt.signature !== 'verified') add(`refused by the verifier (${attempt.signature})`, attempt);
    if (attempt.webhook.id !== attempt.eventId) add('webhook-id is not the event id', attempt);
    const lagMs = attempt.arrivedAtMs - Number(attempt.webhook.timestamp) * 1000;
    // The timestamp is floored to the second: up to 1 s below the send, never after the arrival.
    if (!(lagMs >= 0 && lagMs <= TIMESTAMP_LAG_MS + 1_000))
      add(`webhook-timestamp not within ${TIMESTAMP_LAG_MS} ms before the arrival`, attempt);
  }
  return [...failures].map(
    ([kind, list]) =>
      `${list.length} of ${attempts.length} requests: signature ${kind}, e.g. ${JSON.stringify(
        list.slice(0, EXAMPLES).map((attempt) => ({
          eventId: attempt.eventId,
          path: attempt.path,
          arrivedAt: new Date(attempt.arrivedAtMs).toISOString(),
          headers: attempt.webhook,
          rawBody: attempt.rawBody,
        })),
      )}`,
  );
}

/** An outbox row as the order check reads it. */
interface OutboxEvent {
  readonly id: number;
  readonly event_id: string;
  readonly type: string;
  readonly order_id: number;
}

/**
 * Per order, in outbox order (its ORDER_PAID, then its cancellations by outbox id), each event's first attempt
 * must start after every earlier event's first 2xx answer ended: a cancellation is never sent before its order
 * was delivered, nor before the order's earlier cancellations were. First attempts and first answers are the
 * receiver's (one clock, the test process's), so a send caused by a recorded delivery always starts after the
 * answer that delivered it. Returns the problems (one, with examples, when there are violations) and how many
 * orders with cancellations were checked and held.
 */
function orderProblems(
  rows: readonly OutboxEvent[],
  attempts: readonly ReceivedAttempt[],
): { problems: string[]; ordersWithCancellations: number; ordersInOrder: number } {
  const firstStart = new Map<string, number>();
  const firstOkEnd = new Map<string, number>();
  for (const attempt of attempts) {
    if (!attempt.eventId) continue;
    firstStart.set(attempt.eventId, Math.min(firstStart.get(attempt.eventId) ?? Infinity, attempt.startedAt));
    if (attempt.outcome === 'answered' && attempt.status !== undefined && attempt.status < 300)
      firstOkEnd.set(attempt.eventId, Math.min(firstOkEnd.get(attempt.eventId) ?? Infinity, attempt.endedAt!));
  }
  const byOrder = new Map<number, OutboxEvent[]>();
  for (const row of rows) byOrder.set(row.order_id, [...(byOrder.get(row.order_id) ?? []), row]);
  const violations: Record<string, unknown>[] = [];
  let ordersWithCancellations = 0;
  let ordersInOrder = 0;
  for (const [orderId, events] of byOrder) {
    if (events.length < 2) continue;
    ordersWithCancellations++;
    events.sort((x, y) => Number(x.type !== 'ORDER_PAID') - Number(y.type !== 'ORDER_PAID') || x.id - y.id);
    let held = true;
    for (let k = 1; k < events.length; k++) {
      const later = events[k]!;
      const startedAt = firstStart.get(later.event_id);
      if (startedAt === undefined) continue;
      // The first earlier event not yet answered 2xx when this one was sent names what it should have waited for.
      const earlier = events
        .slice(0, k)
        .map((event) => ({ event, deliveredAt: firstOkEnd.get(event.event_id) }))
        .find(({ deliveredAt }) => deliveredAt === undefined || deliveredAt >= startedAt);
      if (!earlier) continue;
      held = false;
      violations.push({
        orderId,
        sent: { type: later.type, outboxId: later.id, eventId: later.event_id, firstAttemptStartedAt: at(startedAt) },
        before: {
          type: earlier.event.type,
          outboxId: earlier.event.id,
          eventId: earlier.event.event_id,
          firstAttemptStartedAt: at(firstStart.get(earlier.event.event_id)),
          first2xxEndedAt: at(earlier.deliveredAt),
        },
      });
    }
    if (held) ordersInOrder++;
  }
  const problems =
    violations.length === 0
      ? []
      : [
          `${violations.length} events first sent before an earlier event of their order was answered 2xx (${ordersWithCancellations - ordersInOrder} of ${ordersWithCancellations} orders with cancellations), e.g. ${JSON.stringify(violations.slice(0, EXAMPLES))}`,
        ];
  return { problems, ordersWithCancellations, ordersInOrder };
}

/**
 * Waits until every outbox row (every order in the schema, paid through whatever faults, and each of its
 * cancellations) has been answered 2xx by the receiver and is marked DELIVERED, polling every 200 ms, at most
 * `timeoutMs` (then `missing` says how many were not). Then checks what arrived: each event's own id in the body
 * and as the Idempotency-Key, on its type's path; for a paid order, the amounts of the order; for a cancellation,
 * the order's user and what its stored cancellation took and refunded; every request's signature
 * (`signatureProblems`); and each order's events first delivered in outbox order (`orderProblems`).
 */
export async function waitForDeliveries(db: Db, receiver: FaultReceiver, timeoutMs: number): Promise<DeliveryCheck> {
  const startedAt = performance.now();
  type Row = {
    id: number;
    event_id: string;
    type: string;
    order_id: number;
    cancellation_id: number | null;
    status: string;
    attempts: number;
  };
  let missing: Row[] = [];
  let rows: Row[] = [];
  for (;;) {
    rows = await db
      .selectFrom('data_platform_outbox')
      .select(['id', 'event_id', 'type', 'order_id', 'cancellation_id', 'status', 'attempts'])
      .execute();
    const delivered = receiver.delivered();
    missing = rows.filter((row) => row.status !== 'DELIVERED' || !delivered.has(row.event_id));
    if (missing.length === 0 || performance.now() - startedAt > timeoutMs) break;
    await sleep(200);
  }

  const problems: string[] = [];
  const orders = await db
    .selectFrom('orders')
    .select(['id', 'user_id', 'paid_amount', 'total_amount', 'discount_amount'])
    .execute();
  const orderById = new Map(orders.map((order) => [order.id, order]));
  const paidRows = rows.filter((row) => row.type === 'ORDER_PAID');
  const eventByOrder = new Map(paidRows.map((row) => [row.order_id, row.event_id]));
  const cancellations = new Map(rows.filter((row) => row.type === 'ORDER_CANCELLED').map((row) => [row.event_id, row]));
  const stored = new Map(
    (await db.selectFrom('order_cancellations').select(['id', 'refund_amount']).execute()).map((row) => [
      row.id,
      { refund: row.refund_amount, items: [] as { productId: number; quantity: number }[] },
    ]),
  );
  for (const line of await db
    .selectFrom('order_cancellation_lines')
    .select(['cancellation_id', 'product_id', 'quantity'])
    .orderBy('product_id')
    .execute())
    stored.get(line.cancellation_id)?.items.push({ productId: line.product_id, quantity: line.quantity });
  const perEvent = new Map<string, number>();
  for (const attempt of receiver.attempts) {
    if (!attempt.eventId) {
      problems.push(`a request without an event id: ${attempt.path}`);
      continue;
    }
    perEvent.set(attempt.eventId, (perEvent.get(attempt.eventId) ?? 0) + 1);
    if (attempt.idempotencyKey !== attempt.eventId)
      problems.push(`event ${attempt.eventId} sent with Idempotency-Key ${attempt.idempotencyKey}`);
    // A cancellation comes on its own path (under the instance's base path), as its own event of its order.
    const onCancellations = attempt.path.endsWith('/orders/cancellations');
    if (onCancellations || cancellations.has(attempt.eventId)) {
      const cancellation = cancellations.get(attempt.eventId);
      if (!onCancellations || !cancellation || cancellation.order_id !== attempt.orderId) {
        problems.push(
          `event ${attempt.eventId} came on ${attempt.path} naming order ${attempt.orderId}; outbox: ${JSON.stringify(cancellation)}`,
        );
        continue;
      }
      // As stored: the order's user, what the cancellation took and what it refunded.
      const recorded = cancellation.cancellation_id === null ? undefined : stored.get(cancellation.cancellation_id);
      const body = attempt.body ?? {};
      const items = Array.isArray(body.items)
        ? (body.items as { productId: number; quantity: number }[])
            .map(({ productId, quantity }) => ({ productId, quantity }))
            .sort((x, y) => x.productId - y.productId)
        : body.items;
      if (
        !recorded ||
        body.userId !== orderById.get(cancellation.order_id)?.user_id ||
        body.refundAmount !== recorded.refund ||
        JSON.stringify(items) !== JSON.stringify(recorded.items)
      )
        problems.push(
          `cancellation event ${attempt.eventId} carries ${JSON.stringify(body)} for cancellation ${JSON.stringify({ ...cancellation, ...recorded })}`,
        );
      continue;
    }
    if (!attempt.path.endsWith('/orders')) problems.push(`paid event ${attempt.eventId} came on ${attempt.path}`);
    const order = attempt.orderId === undefined ? undefined : orderById.get(attempt.orderId);
    if (!order || eventByOrder.get(order.id) !== attempt.eventId) {
      problems.push(
        `event ${attempt.eventId} names order ${attempt.orderId}, whose event is ${order ? eventByOrder.get(order.id) : 'none'}`,
      );
      continue;
    }
    const body = attempt.body ?? {};
    if (
      body.userId !== order.user_id ||
      body.paidAmount !== order.paid_amount ||
      body.totalAmount !== order.total_amount ||
      body.discountAmount !== order.discount_amount
    ) {
      problems.push(`event ${attempt.eventId} carries ${JSON.stringify(body)} for order ${JSON.stringify(order)}`);
    }
  }
  if (orders.length !== paidRows.length)
    problems.push(`${orders.length} orders but ${paidRows.length} ORDER_PAID outbox rows`);
  problems.push(...signatureProblems(receiver.attempts));
  const ordered = orderProblems(rows, receiver.attempts);
  problems.push(...ordered.problems);
  const counts = [...perEvent.values()];
  return {
    events: rows.length,
    paidEvents: paidRows.length,
    cancellationEvents: cancellations.size,
    waitedMs: Math.round(performance.now() - startedAt),
    requests: receiver.attempts.length,
    retried: counts.filter((n) => n > 1).length,
    maxAttemptsForOneEvent: counts.length > 0 ? Math.max(...counts) : 0,
    maxOutboxAttempts: rows.reduce((max, row) => Math.max(max, row.attempts), 0),
    failed: rows.filter((row) => row.status === 'FAILED').length,
    missing: missing.length,
    missingCancellations: missing.filter((row) => row.type === 'ORDER_CANCELLED').length,
    missingExamples: missing.slice(0, 5),
    signaturesVerified: receiver.attempts.filter((attempt) => attempt.signature === 'verified').length,
    ordersWithCancellations: ordered.ordersWithCancellations,
    ordersInOrder: ordered.ordersInOrder,
    problems,
  };
}

export interface RetryAfterCheck {
  /** Answers the receiver gave with a Retry-After. */
  readonly throttled: number;
  /** Distinct events among them. */
  readonly throttledEvents: number;
  /** From each such answer's end to the start of the event's next attempt, in ms. */
  readonly gapsMs: number[];
  /** Throttled answers whose event came again sooner than asked, or never again, with examples. */
  readonly problems: string[];
}

/**
 * Every answer with `Retry-After: <seconds>` must be heeded: that event's next attempt starts no sooner than
 * that many seconds (or `capMs`, the service's backoff cap, when that is less) after the answer ended, with no
 * tolerance below it; and there is a next attempt, since nothing is lost to throttling. Times are the receiver's.
 */
export function retryAfterCheck(attempts: readonly ReceivedAttempt[], capMs: number): RetryAfterCheck {
  const byEvent = new Map<string, ReceivedAttempt[]>();
  for (const attempt of attempts)
    if (attempt.eventId) byEvent.set(attempt.eventId, [...(byEvent.get(attempt.eventId) ?? []), attempt]);
  const gapsMs: number[] = [];
  const early: Record<string, unknown>[] = [];
  const never: string[] = [];
  let throttled = 0;
  let throttledEvents = 0;
  for (const [eventId, list] of byEvent) {
    list.sort((x, y) => x.startedAt - y.startedAt);
    let any = false;
    list.forEach((attempt, i) => {
      if (attempt.outcome !== 'answered' || attempt.retryAfter === undefined) return;
      throttled++;
      any = true;
      const next = list[i + 1];
      if (!next) {
        never.push(eventId);
        return;
      }
      const askedMs = Math.min(Number(attempt.retryAfter) * 1000, capMs);
      const gapMs = next.startedAt - attempt.endedAt!;
      gapsMs.push(gapMs);
      if (gapMs < askedMs)
        early.push({
          eventId,
          status: attempt.status,
          retryAfter: attempt.retryAfter,
          answeredAt: at(attempt.endedAt),
          nextStartedAt: at(next.startedAt),
          gap: at(gapMs),
        });
    });
    if (any) throttledEvents++;
  }
  const problems: string[] = [];
  if (early.length > 0) {
    // One example per event, so that one eagerly retried event does not fill them all.
    const examples = [...new Map(early.map((example) => [example.eventId, example])).values()];
    problems.push(
      `${early.length} of ${gapsMs.length} throttled attempts were followed sooner than their Retry-After, e.g. ${JSON.stringify(examples.slice(0, EXAMPLES))}`,
    );
  }
  if (never.length > 0)
    problems.push(
      `${never.length} throttled answers were the last attempt of their event, e.g. ${never.slice(0, EXAMPLES).join(', ')}`,
    );
  return { throttled, throttledEvents, gapsMs, problems };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Request counts by status over some records: `2xx 1204, 4xx 88, 503 31, network 4`. */
export function statusLine(records: readonly RequestRecord[]): string {
  const counts = new Map<string, number>();
  for (const record of records) {
    const label =
      typeof record.status === 'number'
        ? record.status === 503 || record.status >= 500
          ? `${record.status}`
          : `${Math.floor(record.status / 100)}xx`
        : record.status;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return (
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([label, n]) => `${label} ${n}`)
      .join(', ') || 'none'
  );
}

/** Records answered with a 5xx other than 503: never expected, whatever the fault. */
export const unexpected5xx = (records: readonly RequestRecord[]) =>
  records.filter((r) => typeof r.status === 'number' && r.status >= 500 && r.status !== 503);

/** `none`, or each unasked-for exit of the service processes with the lines that say why. */
export function crashLine(instances: readonly ServiceInstance[]): string {
  const crashes = instances.flatMap((instance) => instance.crashes.map((crash) => ({ instance, crash })));
  if (crashes.length === 0) return 'none';
  return crashes
    .map(({ instance, crash }) => {
      const lines = crash.tail.split('\n').filter((line) => !line.startsWith('{'));
      const unhandled = lines.find((line) => /Unhandled|uncaught/i.test(line));
      const error = lines.find((line) => /^\s*\w*(Error|error)\b.*:/.test(line));
      const code = lines.find((line) => /^\s*code: /.test(line));
      const why = [unhandled, error, code]
        .filter(Boolean)
        .map((line) => line!.trim())
        .join(' / ');
      return `${instance.name} exited by itself (code ${crash.code}, signal ${crash.signal}): ${why || lines.at(-1)?.trim() || 'no output'}`;
    })
    .join('; ');
}

/** The summary every fault test prints, one fact a line, for the lead to quote. */
export function printSummary(title: string, facts: Record<string, string | number>): void {
  const width = Math.max(...Object.keys(facts).map((key) => key.length));
  console.log(
    [`── ${title} ──`, ...Object.entries(facts).map(([key, value]) => `  ${key.padEnd(width)}  ${value}`)].join('\n'),
  );
}

/** Tries each clean-up step, whatever the others did; rethrows the first failure at the end. */
export async function cleanUp(steps: (() => Promise<unknown>)[]): Promise<void> {
  let first: Error | undefined;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      first ??= error instanceof Error ? error : new Error(`clean-up failed: ${JSON.stringify(error)}`);
    }
  }
  if (first) throw first;
}
