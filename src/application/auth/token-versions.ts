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

/**
 * Each user's current token state (the version our own tokens must carry, and the instant before which an
 * identity provider's tokens are refused), read from the store at most every TOKEN_VERSION_MAX_AGE_MS per
 * instance and shared by the requests in between (one read in flight per user). So a busy user costs one
 * indexed read per half second, not one per request, and a logout-all on any instance reaches all of them.
 */
export class TokenVersions {
  private readonly readings = new Map<number, Reading>();

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
    const state = this.accounts.tokenStateOf(userId);
    this.readings.delete(userId);
    this.readings.set(userId, { state, readAt: now });
    // A failed read is not remembered: the next request asks again.
    state.catch(() => this.readings.get(userId)?.state === state && this.readings.delete(userId));
    if (this.readings.size > this.capacity) this.readings.delete(this.readings.keys().next().value!);
    return state;
  }

  /** This instance changed the state: read it afresh next time. */
  forget(userId: number): void {
    this.readings.delete(userId);
  }
}
