import {
  type ClaimedDelivery,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  afterFailure,
  describeFailure,
} from '../../domain/data-platform/delivery.js';
import { type DataPlatformClient, DeliveryFailure, type DeliveryStore } from '../ports/data-platform.js';
import type { DeliveryOutcomes } from '../ports/delivery-outcomes.js';

export interface DeliverDueEventsOptions {
  /** Deliveries claimed in one round, at most. */
  readonly batchSize?: number;
  /** Sends in flight at once, at most: a delivery is claimed only when its send can start at once. */
  readonly concurrency?: number;
  /** How long a claimed delivery is not due again: must outlast the client's timeout, or a slow send is sent twice. */
  readonly leaseMs?: number;
  readonly policy?: RetryPolicy;
  /** In [0, 1), for the backoff's jitter. */
  readonly random?: () => number;
  /** Told each outcome once it is recorded. */
  readonly outcomes?: DeliveryOutcomes;
}

const UNCOUNTED: DeliveryOutcomes = { record: () => undefined };

/** The answer's status as kept: an HTTP status (100 to 599), or null for anything else a server may send. */
const httpStatusOf = (failure: DeliveryFailure | undefined) => {
  const status = failure?.httpStatus;
  return status !== undefined && status !== null && status >= 100 && status <= 599 ? status : null;
};

/**
 * Delivers the outbox: claims what is due (a short transaction, committed), sends each claimed event after
 * that commit, and records each outcome as soon as its send has finished. Each event is sent on its own, with
 * at most `concurrency` in flight, and a delivery is claimed only when a place is free for its send, so every
 * send starts at once, well inside its lease, and one slow answer holds no other event.
 * A failed send is recorded, never thrown; only the store failing is.
 */
export class DeliverDueEvents {
  readonly batchSize: number;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly policy: RetryPolicy;
  private readonly random: () => number;
  private readonly outcomes: DeliveryOutcomes;
  /** Each send in flight, until its outcome is recorded (or failed to be); none of them ever rejects. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Store failures of sends that finished, not yet thrown. */
  private readonly failures: unknown[] = [];

  constructor(
    private readonly deliveries: DeliveryStore,
    private readonly client: DataPlatformClient,
    {
      batchSize = 20,
      concurrency = 8,
      leaseMs = 30_000,
      policy = DEFAULT_RETRY_POLICY,
      random = Math.random,
      outcomes = UNCOUNTED,
    }: DeliverDueEventsOptions = {},
  ) {
    this.batchSize = batchSize;
    this.concurrency = Math.max(1, concurrency);
    this.leaseMs = leaseMs;
    this.policy = policy;
    this.random = random;
    this.outcomes = outcomes;
  }

  /**
   * One whole round: claims up to a batch and resolves once every send has finished and its outcome is
   * recorded, with how many deliveries it handled, delivered or not; rejects, after that, if an outcome could
   * not be recorded.
   */
  async execute(): Promise<number> {
    const handled = await this.dispatch();
    await this.drain();
    return handled;
  }

  /**
   * The relay's round: claims up to a batch, a free place in flight at a time (waiting for one when all are
   * taken), starts each send, and resolves with how many it claimed once it has claimed a batch or found no
   * more due, leaving the sends still in flight to finish on their own. Once `stop` is aborted it claims no
   * more. Rejects if the store fails, now or since the last round, while recording an outcome.
   */
  async dispatch(stop?: AbortSignal): Promise<number> {
    let claimed = 0;
    while (claimed < this.batchSize) {
      while (this.inFlight.size >= this.concurrency && !stop?.aborted) await this.placeFreed(stop);
      this.throwFailure();
      if (stop?.aborted) break;
      const limit = Math.min(this.batchSize - claimed, this.concurrency - this.inFlight.size);
      const due = await this.deliveries.claimDue(limit, this.leaseMs);
      for (const delivery of due) this.start(delivery);
      claimed += due.length;
      if (due.length < limit) break;
    }
    return claimed;
  }

  /** Resolves once every send in flight has finished and its outcome is recorded; then rejects if one could not be. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    this.throwFailure();
  }

  private async placeFreed(stop: AbortSignal | undefined): Promise<void> {
    if (!stop) return Promise.race(this.inFlight);
    let onAbort = () => undefined as void;
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
      stop.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([...this.inFlight, aborted]);
    } finally {
      stop.removeEventListener('abort', onAbort);
    }
  }

  private throwFailure(): void {
    if (this.failures.length === 0) return;
    const [first] = this.failures.splice(0);
    throw first;
  }

  private start(delivery: ClaimedDelivery): void {
    const send: Promise<void> = this.attempt(delivery)
      .catch((error: unknown) => {
        this.failures.push(error);
      })
      .finally(() => this.inFlight.delete(send));
    this.inFlight.add(send);
  }

  private async attempt({ eventId, event, attempt, generation, traceContext }: ClaimedDelivery): Promise<void> {
    const started = performance.now();
    const answer = await this.client.deliver(eventId, event, { attempt, traceContext }).then(
      (receipt) => ({ httpStatus: receipt?.httpStatus ?? null }),
      (error: unknown) => ({ error }),
    );
    const durationMs = Math.round(performance.now() - started);
    if (!('error' in answer)) {
      await this.deliveries.markDelivered(
        eventId,
        { httpStatus: answer.httpStatus, durationMs, error: null },
        generation,
      );
      return this.outcomes.record('DELIVERED');
    }
    const { error } = answer;
    const refused = error instanceof DeliveryFailure ? error : undefined;
    const outcome = afterFailure(attempt, this.policy, this.random(), refused?.retryAfterMs);
    const report = { httpStatus: httpStatusOf(refused), durationMs, error: describeFailure(error) };
    await this.deliveries.recordFailure(eventId, attempt, outcome, report, generation);
    this.outcomes.record(outcome.status === 'FAILED' ? 'PARKED' : 'RETRY_SCHEDULED');
  }
}
