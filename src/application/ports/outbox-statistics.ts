import type { DeliveryStatus } from '../../domain/data-platform/delivery.js';

/** The undelivered statuses: what an operator watches. DELIVERED rows only grow, and counting them costs. */
export const BACKLOG_STATUSES = ['PENDING', 'FAILED'] as const satisfies readonly DeliveryStatus[];
export type BacklogStatus = (typeof BACKLOG_STATUSES)[number];

/** The outbox rows of one undelivered status, right now. */
export interface OutboxBacklog {
  readonly status: BacklogStatus;
  readonly events: number;
  /** How long ago the oldest of them was written (the database's clock); 0 when there is none. */
  readonly oldestAgeSeconds: number;
  /** Of them, those held back by an undelivered earlier event of their order (PENDING only; 0 for FAILED). */
  readonly heldBack: number;
}

/** How the outbox stands, for the operations metrics: one cheap read, indexed. */
export interface OutboxStatistics {
  /** One entry per BACKLOG_STATUSES, in that order. */
  backlog(): Promise<OutboxBacklog[]>;
}
