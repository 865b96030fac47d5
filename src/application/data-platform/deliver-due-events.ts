import {
  type ClaimedDelivery,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  afterFailure,
  describeFailure,
} from '../../domain/data-platform/delivery.js';
import type { Clock } from '../ports/clock.js';
import type { DataPlatformClient, DeliveryStore } from '../ports/data-platform.js';

export interface DeliverDueEventsOptions {
  /** Deliveries claimed and sent together. */
  readonly batchSize?: number;
  /** How long a claimed delivery is not due again: must outlast the client's timeout, or a slow send is sent twice. */
  readonly leaseMs?: number;
  readonly policy?: RetryPolicy;
  /** In [0, 1), for the backoff's jitter. */
  readonly random?: () => number;
}

/**
 * One round of the relay: claim what is due (a short transaction, committed), send each claimed event after
 * that commit, in parallel so that every send starts well inside its lease, then record each outcome.
 * A failed send is recorded, never thrown; only the store failing is.
 */
export class DeliverDueEvents {
  readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly policy: RetryPolicy;
  private readonly random: () => number;

  constructor(
    private readonly deliveries: DeliveryStore,
    private readonly client: DataPlatformClient,
    private readonly clock: Clock,
    {
      batchSize = 20,
      leaseMs = 30_000,
      policy = DEFAULT_RETRY_POLICY,
      random = Math.random,
    }: DeliverDueEventsOptions = {},
  ) {
    this.batchSize = batchSize;
    this.leaseMs = leaseMs;
    this.policy = policy;
    this.random = random;
  }

  /** How many deliveries it handled, delivered or not. */
  async execute(): Promise<number> {
    const now = this.clock.now();
    const claimed = await this.deliveries.claimDue(this.batchSize, now, new Date(now.getTime() + this.leaseMs));
    const recorded = await Promise.allSettled(claimed.map((delivery) => this.attempt(delivery)));
    const storeFailure = recorded.find((result) => result.status === 'rejected');
    if (storeFailure) throw storeFailure.reason;
    return claimed.length;
  }

  private async attempt({ eventId, event, attempt }: ClaimedDelivery): Promise<void> {
    const failure = await this.client.deliver(eventId, event).then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
    const at = this.clock.now();
    if (!failure) return this.deliveries.markDelivered(eventId, at);
    const outcome = afterFailure(attempt, at, this.policy, this.random());
    return this.deliveries.recordFailure(eventId, attempt, outcome, describeFailure(failure.error));
  }
}
