export interface ClientRequestCount {
  /** Requests of the client in its current window, this one included. */
  readonly count: number;
  /** How long until that window ends and the count starts again. */
  readonly windowEndsInMs: number;
}

/**
 * Unauthenticated requests per client address, shared by every instance. A client's window starts with its
 * first request and lasts `windowMs`; the next request after it starts a new one.
 */
export interface ClientRequestCounter {
  /** Atomically counts one more request of `clientAddress` in its window; answers the count so far. */
  count(clientAddress: string, windowMs: number): Promise<ClientRequestCount>;
  /** Drops the counts of windows that have ended; returns how many. */
  purge(windowMs: number): Promise<number>;
}
