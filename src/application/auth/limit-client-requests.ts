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
 * one address then costs at most one connection and `limit + 1` updates a window per instance.
 */
export class LimitClientRequests {
  private readonly refusedUntil = new Map<string, number>();
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly counter: ClientRequestCounter,
    private readonly limitPerWindow: number,
    private readonly clock: Clock,
  ) {}

  execute({ clientAddress }: LimitClientRequestsInput): Promise<void> {
    const key = clientKey(clientAddress);
    const turn = (this.queues.get(key) ?? Promise.resolve()).then(() => this.countOne(key));
    const settled = turn.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
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
    if (this.refusedUntil.size >= SWEEP_ABOVE)
      for (const [other, end] of this.refusedUntil) if (end <= now) this.refusedUntil.delete(other);
    this.refusedUntil.set(key, until);
  }
}

const refusal = (waitMs: number) => new ClientRateLimitedError(Math.max(1, Math.ceil(waitMs / 1000)));
