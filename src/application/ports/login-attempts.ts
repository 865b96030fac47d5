export type LoginSlot =
  | { readonly granted: true; readonly attemptId: number }
  | { readonly granted: false; readonly retryAfterMs: number };

export interface LoginAttemptKey {
  readonly email: string;
  readonly clientAddress: string;
}

export interface LoginAttemptLimits {
  /** Attempts for the email from the key's client address. */
  readonly perAddress: number;
  /** Attempts for the email from all client addresses together. */
  readonly allAddresses: number;
}

/**
 * Login attempts per email and client address, shared by every instance. An attempt counts as a failure
 * from the moment it is reserved until it is forgotten (it succeeded), so concurrent guesses cannot slip
 * past either limit.
 */
export interface LoginAttempts {
  /**
   * Atomically: within the last `windowMs`, fewer than `perAddress` attempts for the email from this address
   * and fewer than `allAddresses` for the email in all? Then one more; otherwise how long until both hold.
   * The adapter folds the email exactly as AccountQueries.findByEmail compares it, so one account has one
   * count.
   */
  reserve(key: LoginAttemptKey, limits: LoginAttemptLimits, windowMs: number): Promise<LoginSlot>;
  /** The attempt succeeded; it no longer counts. */
  forget(attemptId: number): Promise<void>;
  /** Drops attempts older than the window; returns how many. */
  purge(windowMs: number): Promise<number>;
}
