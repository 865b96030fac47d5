import type {
  AttemptReport,
  ClaimedDelivery,
  DataPlatformEvent,
  DataPlatformEventType,
  Delivery,
  DeliveryAttempt,
  DeliveryStatus,
  FailureOutcome,
  TraceContext,
} from '../../domain/data-platform/delivery.js';
import type { Page, PageRequest } from '../shared/pagination.js';

/** An attempt the platform did not accept: what an operator and the retry schedule need of it. */
export class DeliveryFailure extends Error {
  constructor(
    message: string,
    /** The platform's answer, when there was one (a non-2xx); null for a network error or a timeout. */
    readonly httpStatus: number | null,
    /** How long the platform asked to be left alone (a 429 or 503 with Retry-After), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The platform's acceptance of an event: its 2xx status, where the client can tell it. */
export interface DeliveryReceipt {
  readonly httpStatus: number | null;
}

/** Which attempt a send is, and the trace of the request that wrote the event, which the send continues. */
export interface AttemptOrigin {
  readonly attempt: number;
  readonly traceContext: TraceContext | null;
}

/** The external data platform. */
export interface DataPlatformClient {
  /**
   * Resolves once the platform accepted the event (2xx); rejects on anything else (network error, timeout,
   * non-2xx), with a DeliveryFailure where it can tell the answer.
   */
  deliver(eventId: string, event: DataPlatformEvent, origin?: AttemptOrigin): Promise<DeliveryReceipt | void>;
}

/** A client whose adapter holds connections, closed once at shutdown. */
export type ClosableDataPlatformClient = DataPlatformClient & { close?(): Promise<void> };

export interface DeliveryDetail {
  readonly delivery: Delivery;
  /** The JSON body each attempt sends. */
  readonly payload: Record<string, unknown>;
  readonly attempts: readonly DeliveryAttempt[];
}

/** An operator's step on a delivery: the delivery as the step found it (locked) and as it left it. */
export interface DeliveryStep {
  readonly before: Delivery;
  readonly after: Delivery;
}

export interface DeliveryFilter {
  readonly status?: DeliveryStatus | undefined;
  readonly type?: DataPlatformEventType | undefined;
}

/**
 * The outbox seen from the relay and from operators. Each method is one short atomic step of its own;
 * no network call ever happens while one is open. Every instant it stores or compares is the store's own
 * (the database's now(), for PostgreSQL), never the caller's: instances whose clocks disagree share one outbox,
 * and one that judged a lease or a due time by its own clock would send what another is still sending.
 */
export interface DeliveryStore {
  /**
   * Claims up to `limit` PENDING deliveries due now, most overdue first, each only once every earlier event of
   * its order is DELIVERED: each one's attempt is counted and it is not due again for `leaseMs`. Concurrent
   * claimers, in any number of processes, never get the same delivery.
   */
  claimDue(limit: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  /**
   * DELIVERED now, whatever happened to it meanwhile (the platform has it), unless an operator's retry or
   * redelivery came after the attempt was claimed (`generation`, the claim's; unchecked when omitted): that
   * one still goes out. The attempt is kept either way.
   */
  markDelivered(eventId: string, report: AttemptReport, generation?: number): Promise<void>;
  /**
   * Records attempt `attempt`'s failure; its status and schedule stay as they are when the delivery has moved
   * on since that attempt was claimed (another attempt, or an operator's step after `generation`, when
   * given). The attempt is kept either way.
   */
  recordFailure(
    eventId: string,
    attempt: number,
    outcome: FailureOutcome,
    report: AttemptReport,
    generation?: number,
  ): Promise<void>;
  /** By outbox id ascending, each with what it waits on; the page key is that id. */
  list(filter: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>>;
  /** One delivery with the body it sends and its last KEPT_ATTEMPTS attempts, oldest first. */
  find(eventId: string): Promise<DeliveryDetail | undefined>;
  /**
   * Makes any delivery, DELIVERED too, due now with its attempts reset (Delivery.redelivered). Like
   * resetForRetry, it joins the call chain's unit of work when one is open.
   */
  redeliver(eventId: string): Promise<DeliveryStep | undefined>;
  /**
   * Makes a PENDING or FAILED delivery due now with its attempts reset; a DELIVERED one stays as it is
   * (`before` and `after` alike); undefined when there is none with that event id. Called inside a unit of
   * work, it runs in that unit's transaction with the row locked, so what the work writes beside it (an
   * operator's audit entry) commits with it or not at all; outside one, it is a transaction of its own.
   */
  resetForRetry(eventId: string): Promise<DeliveryStep | undefined>;
}
