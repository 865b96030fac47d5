import type { AccountQueries, TokenState } from '../ports/account-repository.js';
import type { Clock } from '../ports/clock.js';

/**
 * How long an instance may go on trusting a user's token state it read. Logout-all promises that every
 * instance refuses the old tokens within a second; half of that leaves room for the read itself.
 */
export const TOKEN_VERSION_MAX_AGE_MS = 500;

interface Reading {
  readonly state: Promise<TokenState | undefined>;
  readonly readAt: number;
}

/** Users read in one query at most; a larger batch is split. */
const MAX_BATCH = 500;

interface Waiting {
  resolve(state: TokenState | undefined): void;
  reject(error: Error): void;
}

/**
 * Each user's current token state (the version our own tokens must carry, and the instant before which an
 * identity provider's tokens are refused), read from the store at most every TOKEN_VERSION_MAX_AGE_MS per
 * instance and shared by the requests in between (one read in flight per user). So a busy user costs one
 * indexed read per half second, not one per request, and a logout-all on any instance reaches all of them.
 * The users to read are gathered until the event loop's current turn ends and read in one query: under
 * load, the requests that arrived together share a round trip and a connection instead of taking one each.
 */
export class TokenVersions {
  private readonly readings = new Map<number, Reading>();
  /** Users waiting for the next batch's query, which is already scheduled while this is defined. */
  private batch: Map<number, Waiting> | undefined;

  constructor(
    private readonly accounts: AccountQueries,
    private readonly clock: Clock,
    private readonly maxAgeMs = TOKEN_VERSION_MAX_AGE_MS,
    /** Users remembered at once; the least recently read are dropped first. */
    private readonly capacity = 100_000,
  ) {}

  /**
   * Undefined when there is no such user. With `atLeast`, a remembered version below it is stale (versions
   * only grow, and a token carrying a newer one was minted after our read): such a reading is read again.
   */
  async current(userId: number, atLeast?: number): Promise<TokenState | undefined> {
    const now = this.clock.now().getTime();
    const known = this.readings.get(userId);
    if (!known || now - known.readAt >= this.maxAgeMs) return this.read(userId, now);
    const state = await known.state;
    if (atLeast === undefined || state === undefined || state.version >= atLeast) return state;
    // Requests that found the same stale reading share the read started after it, if it is new enough.
    const latest = this.readings.get(userId);
    if (latest && latest !== known) {
      const newer = await latest.state;
      if (newer === undefined || newer.version >= atLeast) return newer;
    }
    return this.read(userId, this.clock.now().getTime());
  }

  private read(userId: number, now: number): Promise<TokenState | undefined> {
    const state = this.inNextBatch(userId);
    this.readings.delete(userId);
    this.readings.set(userId, { state, readAt: now });
    // A failed read is not remembered: the next request asks again.
    state.catch(() => this.readings.get(userId)?.state === state && this.readings.delete(userId));
    if (this.readings.size > this.capacity) this.readings.delete(this.readings.keys().next().value!);
    return state;
  }

  private inNextBatch(userId: number): Promise<TokenState | undefined> {
    if (this.batch === undefined) {
      this.batch = new Map();
      setImmediate(() => this.readBatch());
    }
    const batch = this.batch;
    return new Promise((resolve, reject) => {
      // One read in flight per user (see current), so a user is in a batch once; a second entry would be
      // a later read of the same user, which the same query answers too.
      const earlier = batch.get(userId);
      batch.set(userId, {
        resolve(state) {
          earlier?.resolve(state);
          resolve(state);
        },
        reject(error) {
          earlier?.reject(error);
          reject(error);
        },
      });
    });
  }

  private readBatch(): void {
    const batch = [...this.batch!];
    this.batch = undefined;
    for (let start = 0; start < batch.length; start += MAX_BATCH) {
      const part = batch.slice(start, start + MAX_BATCH);
      Promise.resolve(part.map(([userId]) => userId))
        .then((userIds) => this.accounts.tokenStatesOf(userIds))
        .then(
          (states) => part.forEach(([userId, waiting]) => waiting.resolve(states.get(userId))),
          (error: unknown) => {
            const reason = error instanceof Error ? error : new Error(String(error));
            part.forEach(([, waiting]) => waiting.reject(reason));
          },
        );
    }
  }

  /** This instance changed the state: read it afresh next time. */
  forget(userId: number): void {
    this.readings.delete(userId);
  }
}
