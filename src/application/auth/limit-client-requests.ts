import { ClientRateLimitedError } from '../../domain/account/account-errors.js';
import { CLIENT_RATE_WINDOW_MS, clientKey } from '../../domain/account/client-rate-limit.js';
import type { ClientRequestCounter } from '../ports/client-request-counter.js';
import type { Clock } from '../ports/clock.js';

export interface LimitClientRequestsInput {
  /** Undefined once the client's connection has closed. */
  readonly clientAddress: string | undefined;
}

/** How many refused addresses are remembered before the ones whose window has ended are swept out. */
const SWEEP_ABOVE = 10_000;

/**
 * Counts an unauthenticated request against its client address's budget and refuses it past the limit. It
 * runs before anything else of the request (validation, hashing), so a flood costs one counter update a
 * request and another address's requests nothing.
 *
 * The shared count is one row per address, so concurrent updates of one address wait on each other's lock,
 * each holding a database connection: this instance asks for one address at a time, and once an address
 * is refused, refuses it here until its window ends, as a count never falls within a window. A flood from
 * one address then costs at most one connection and `limit + 1` updates a window per instance. Requests of
 * one address waiting their turn are at most `limit`: more at once are over the budget already, and are
 * refused without waiting, so a slow database does not let one address's queue grow without bound.
 */
export class LimitClientRequests {
  private readonly refusedUntil = new Map<string, number>();
  private readonly queues = new Map<string, { tail: Promise<void>; waiting: number }>();
  private sweepAbove = SWEEP_ABOVE;

  constructor(
    private readonly counter: ClientRequestCounter,
    private readonly limitPerWindow: number,
    private readonly clock: Clock,
  ) {}

  execute({ clientAddress }: LimitClientRequestsInput): Promise<void> {
    const key = clientKey(clientAddress);
    const queue = this.queues.get(key) ?? { tail: Promise.resolve(), waiting: 0 };
    if (queue.waiting >= this.limitPerWindow) return Promise.reject(refusal(1));
    queue.waiting++;
    const turn = queue.tail.then(() => this.countOne(key));
    const settled = turn.catch(() => undefined);
    queue.tail = settled;
    this.queues.set(key, queue);
    void settled.then(() => {
      queue.waiting--;
      if (queue.waiting === 0 && this.queues.get(key) === queue) this.queues.delete(key);
    });
    return turn;
  }

  private async countOne(key: string): Promise<void> {
    // Read before asking, so the window remembered ends no later than the counter's own.
    const asked = this.clock.now().getTime();
    const until = this.refusedUntil.get(key);
    if (until !== undefined && asked < until) throw refusal(until - asked);
    this.refusedUntil.delete(key);

    const { count, windowEndsInMs } = await this.counter.count(key, CLIENT_RATE_WINDOW_MS);
    if (count > this.limitPerWindow) {
      this.remember(key, asked + windowEndsInMs, asked);
      throw refusal(windowEndsInMs);
    }
  }

  private remember(key: string, until: number, now: number): void {
    // Swept when the memory has doubled since the last sweep, so a sweep's cost is shared by as many inserts.
    if (this.refusedUntil.size >= this.sweepAbove) {
      for (const [other, end] of this.refusedUntil) if (end <= now) this.refusedUntil.delete(other);
      this.sweepAbove = Math.max(SWEEP_ABOVE, 2 * this.refusedUntil.size);
    }
    this.refusedUntil.set(key, until);
  }
}

const refusal = (waitMs: number) => new ClientRateLimitedError(Math.max(1, Math.ceil(waitMs / 1000)));
