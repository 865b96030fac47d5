/**
 * Unauthenticated requests (sign-up, login, refresh) one client address may make per window, all instances
 * together: without a bound, one client fills the password hasher's queue for everyone, or signs up enough
 * accounts to drain a first-come-first-served coupon. The limit per window is configuration.
 */
export const CLIENT_RATE_WINDOW_MS = 60 * 1000;
export const DEFAULT_CLIENT_RATE_LIMIT_PER_MINUTE = 60;
