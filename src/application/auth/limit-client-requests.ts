import { ClientRateLimitedError } from '../../domain/account/account-errors.js';
import { CLIENT_RATE_WINDOW_MS, clientKey } from '../../domain/account/client-rate-limit.js';
import type { ClientRequestCounter } from '../ports/client-request-counter.js';

export interface LimitClientRequestsInput {
  /** Undefined once the client's connection has closed. */
  readonly clientAddress: string | undefined;
}

/**
 * Counts an unauthenticated request against its client address's budget and refuses it past the limit. It
 * runs before anything else of the request (validation, hashing), so a flood costs one counter update a
 * request and another address's requests nothing.
 */
export class LimitClientRequests {
  constructor(
    private readonly counter: ClientRequestCounter,
    private readonly limitPerWindow: number,
  ) {}

  async execute({ clientAddress }: LimitClientRequestsInput): Promise<void> {
    const { count, windowEndsInMs } = await this.counter.count(clientKey(clientAddress), CLIENT_RATE_WINDOW_MS);
    if (count > this.limitPerWindow) throw new ClientRateLimitedError(Math.max(1, Math.ceil(windowEndsInMs / 1000)));
  }
}
