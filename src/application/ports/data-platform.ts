import type {
  ClaimedDelivery,
  DataPlatformEvent,
  DataPlatformEventType,
  Delivery,
  DeliveryStatus,
  FailureOutcome,
} from '../../domain/data-platform/delivery.js';
import type { Page, PageRequest } from '../shared/pagination.js';

/** The external data platform. */
export interface DataPlatformClient {
  /** Resolves once the platform accepted the event (2xx); rejects on anything else: network error, timeout, non-2xx. */
  deliver(eventId: string, event: DataPlatformEvent): Promise<void>;
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
   * Claims up to `limit` PENDING deliveries due now, most overdue first: each one's attempt is counted and it
   * is not due again for `leaseMs`. Concurrent claimers, in any number of processes, never get the same
   * delivery.
   */
  claimDue(limit: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  /** DELIVERED now, whatever happened to it meanwhile: the platform has it. */
  markDelivered(eventId: string): Promise<void>;
  /** Records attempt `attempt`'s failure; a no-op when the delivery has moved on since that attempt was claimed. */
  recordFailure(eventId: string, attempt: number, outcome: FailureOutcome, error: string): Promise<void>;
  /** By outbox id ascending; the page key is that id. */
  list(filter: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>>;
  /**
   * Makes a PENDING or FAILED delivery due now with its attempts reset, and returns it; a DELIVERED one is
   * returned unchanged; undefined when there is none with that event id.
   */
  resetForRetry(eventId: string): Promise<Delivery | undefined>;
}
