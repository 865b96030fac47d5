/**
 * A login's refresh tokens form a family: each use spends the token and issues the next one in the family.
 * A spent token presented again means two parties hold it, so the whole family ends (RFC 9700, 4.14.2).
 */
export interface RefreshTokenState {
  readonly familyId: number;
  readonly userId: number;
  readonly spentAt: Date | null;
  readonly familyExpiresAt: Date;
  readonly familyEndedAt: Date | null;
}

export type RefreshVerdict = 'ROTATE' | 'END_FAMILY' | 'REFUSE';

export function judgeRefresh(token: RefreshTokenState, now: Date): RefreshVerdict {
  if (token.familyEndedAt !== null) return 'REFUSE';
  if (token.spentAt !== null) return 'END_FAMILY';
  if (token.familyExpiresAt.getTime() <= now.getTime()) return 'REFUSE';
  return 'ROTATE';
}

/**
 * Failed logins allowed per email from one client address within the window, on all instances together:
 * a guesser locks out only their own address, never the account's owner.
 */
export const LOGIN_FAILURE_LIMIT = 10;
/** Failed logins allowed per email from all addresses together, the ceiling for a guesser with many. */
export const LOGIN_FAILURE_LIMIT_ALL_ADDRESSES = 100;
export const LOGIN_FAILURE_WINDOW_MS = 15 * 60 * 1000;
