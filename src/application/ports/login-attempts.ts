export type LoginSlot =
  | { readonly granted: true; readonly attemptId: number }
  | { readonly granted: false; readonly retryAfterMs: number };

/**
 * Login attempts per email, shared by every instance. An attempt counts as a failure from the moment it is
 * reserved until it is forgotten (it succeeded), so concurrent guesses cannot slip past the limit.
 */
export interface LoginAttempts {
  /**
   * Atomically: fewer than `limit` attempts for `email` within the last `windowMs`? Then one more. The
   * adapter folds the email exactly as AccountQueries.findByEmail compares it, so one account has one count.
   */
  reserve(email: string, limit: number, windowMs: number): Promise<LoginSlot>;
  /** The attempt succeeded; it no longer counts. */
  forget(attemptId: number): Promise<void>;
  /** Drops attempts older than the window; returns how many. */
  purge(windowMs: number): Promise<number>;
}
