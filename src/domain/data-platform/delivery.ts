import type { OrderCancelledEvent, OrderPaidEvent } from '../order/order.js';

/** What the data platform hears of: a paid order, and each of its cancellations. */
export const DATA_PLATFORM_EVENT_TYPES = ['ORDER_PAID', 'ORDER_CANCELLED'] as const;
export type DataPlatformEventType = (typeof DATA_PLATFORM_EVENT_TYPES)[number];

/** One event with its kind; `body` is what is sent, less the event id (the outbox's). */
export type DataPlatformEvent =
  | { readonly type: 'ORDER_PAID'; readonly body: OrderPaidEvent }
  | { readonly type: 'ORDER_CANCELLED'; readonly body: OrderCancelledEvent };

export const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'FAILED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliveryProps {
  /** The outbox row's id: the order deliveries are listed in. */
  readonly id: number;
  readonly eventId: string;
  readonly type: DataPlatformEventType;
  /** The order the event is about: the paid order, or the order a cancellation cancels from. */
  readonly orderId: number;
  readonly status: DeliveryStatus;
  /** Attempts started, counted when an attempt is claimed. */
  readonly attempts: number;
  readonly lastError: string | null;
  /** When it is next due; null once DELIVERED or FAILED. */
  readonly nextAttemptAt: Date | null;
  readonly deliveredAt: Date | null;
  readonly createdAt: Date;
  /**
   * The earlier event of the same order this one waits on, while it is PENDING: it is sent only once every
   * earlier event of its order is delivered. Null when it waits on none (or when the store did not say).
   */
  readonly waitingFor?: string | null;
}

/** What one attempt came to, as an operator reads it. */
export interface DeliveryAttempt {
  readonly attemptedAt: Date;
  readonly outcome: 'DELIVERED' | 'FAILED';
  /** The platform's answer, when it gave one. */
  readonly httpStatus: number | null;
  readonly durationMs: number;
  /** Why it failed; null when it was delivered. */
  readonly error: string | null;
}

/** An attempt as the relay reports it; the store dates it by its own clock (its end less its duration). */
export type AttemptReport = Omit<DeliveryAttempt, 'attemptedAt' | 'outcome'>;

/** How many of an event's attempts are kept: the latest. */
export const KEPT_ATTEMPTS = 20;

/**
 * The W3C trace context headers (`traceparent`, and `tracestate` when there is one) of the request that
 * wrote an event: its delivery continues that trace.
 */
export type TraceContext = Readonly<Record<string, string>>;

/** A delivery claimed for one attempt: what to send, and which attempt this is. */
export interface ClaimedDelivery {
  readonly eventId: string;
  readonly event: DataPlatformEvent;
  readonly attempt: number;
  /**
   * How many operator retries and redeliveries the delivery had when it was claimed: an outcome reported
   * with an older one is stale, and is kept as a record only.
   */
  readonly generation: number;
  /** The trace of the request that wrote the event; null when it had none. */
  readonly traceContext: TraceContext | null;
}

/**
 * What a failed attempt leads to: another try `retryInMs` after the failure is recorded (by the store's clock,
 * which every claimer shares), or parked for an operator.
 */
export type FailureOutcome = { readonly status: 'PENDING'; readonly retryInMs: number } | { readonly status: 'FAILED' };

export interface RetryPolicy {
  readonly baseMs: number;
  readonly capMs: number;
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 1_000, capMs: 60_000, maxAttempts: 10 };

const JITTER = 0.2;
export const MAX_ERROR_LENGTH = 500;

/**
 * The pause after failed attempt `attempt` (1, 2, …): base · 2^(attempt−1), capped, then spread ±20 % so
 * that events failed together by one outage do not all come back at the same instant. `random` is in [0, 1).
 */
export function backoffMs(attempt: number, policy: RetryPolicy, random: number): number {
  const exponential = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (1 - JITTER + 2 * JITTER * random));
}

/**
 * After failed attempt `attempt`: parked once the attempts are spent, else retried after the backoff, or
 * after what the platform asked for (`retryAfterMs`, a 429's or 503's Retry-After, held to the cap) when
 * that is longer.
 */
export function afterFailure(attempt: number, policy: RetryPolicy, random: number, retryAfterMs = 0): FailureOutcome {
  if (attempt >= policy.maxAttempts) return { status: 'FAILED' };
  // The jittered backoff stays as it is; only what the platform asks for is held to the cap.
  const retryInMs = Math.max(backoffMs(attempt, policy, random), Math.min(retryAfterMs, policy.capMs));
  return { status: 'PENDING', retryInMs };
}

/** Kept as spaces: a NUL in a platform's answer above all, which PostgreSQL's text refuses. */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** What is kept of an error: enough for an operator, never an unbounded column. */
export function describeFailure(error: unknown): string {
  const text = (error instanceof Error ? error.message : String(error)).replace(CONTROL_CHARACTERS, ' ');
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}

/**
 * One event (a paid order, or a cancellation) on its way to the data platform: an outbox row. Every type goes
 * through the same steps. Immutable: each step returns a new Delivery.
 */
export class Delivery implements DeliveryProps {
  readonly id: number;
  readonly eventId: string;
  readonly type: DataPlatformEventType;
  readonly orderId: number;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly nextAttemptAt: Date | null;
  readonly deliveredAt: Date | null;
  readonly createdAt: Date;
  readonly waitingFor: string | null;

  constructor(props: DeliveryProps) {
    this.id = props.id;
    this.eventId = props.eventId;
    this.type = props.type;
    this.orderId = props.orderId;
    this.status = props.status;
    this.attempts = props.attempts;
    this.lastError = props.lastError;
    this.nextAttemptAt = props.nextAttemptAt;
    this.deliveredAt = props.deliveredAt;
    this.createdAt = props.createdAt;
    this.waitingFor = props.waitingFor ?? null;
  }

  /** A new outbox row, due at once. */
  static enqueue({
    id,
    eventId,
    event,
    at,
  }: {
    id: number;
    eventId: string;
    event: DataPlatformEvent;
    at: Date;
  }): Delivery {
    return new Delivery({
      id,
      eventId,
      type: event.type,
      orderId: event.body.orderId,
      status: 'PENDING',
      attempts: 0,
      lastError: null,
      nextAttemptAt: at,
      deliveredAt: null,
      createdAt: at,
    });
  }

  isDue(now: Date): boolean {
    return this.status === 'PENDING' && this.nextAttemptAt !== null && this.nextAttemptAt <= now;
  }

  /** Taken for an attempt: counted, and not due again until the lease ends (a crash mid-send only delays it). */
  claim(leaseUntil: Date): Delivery {
    return this.with({ attempts: this.attempts + 1, nextAttemptAt: leaseUntil });
  }

  delivered(at: Date): Delivery {
    if (this.status === 'DELIVERED') return this;
    return this.with({ status: 'DELIVERED', nextAttemptAt: null, deliveredAt: at });
  }

  /**
   * Records, at `at`, the failure of attempt `attempt`. A stale outcome (the delivery was claimed again after
   * its lease ran out, reset by an operator, or settled meanwhile) changes nothing.
   */
  failed(attempt: number, outcome: FailureOutcome, error: string, at: Date): Delivery {
    if (this.status !== 'PENDING' || this.attempts !== attempt) return this;
    return outcome.status === 'FAILED'
      ? this.with({ status: 'FAILED', lastError: error, nextAttemptAt: null })
      : this.with({ lastError: error, nextAttemptAt: new Date(at.getTime() + outcome.retryInMs) });
  }

  /** An operator's retry: due at once with a fresh count of attempts. What was delivered stays as it is. */
  retried(at: Date): Delivery {
    if (this.status === 'DELIVERED') return this;
    return this.with({ status: 'PENDING', attempts: 0, nextAttemptAt: at });
  }

  /**
   * An operator's redelivery: due at once with a fresh count of attempts, whatever its status, DELIVERED too
   * (the platform lost it). The same event id and body go out again.
   */
  redelivered(at: Date): Delivery {
    return this.with({ status: 'PENDING', attempts: 0, lastError: null, nextAttemptAt: at, deliveredAt: null });
  }

  private with(changes: Partial<DeliveryProps>): Delivery {
    return new Delivery({ ...this, ...changes });
  }
}
