import type { RefreshTokenState } from '../../domain/account/refresh-token.js';

/**
 * Refresh tokens, stored only as hashes (base64url of SHA-256), in families: one family per login.
 * Writes, inside a unit of work.
 */
export interface RefreshTokenRepository {
  startFamily(userId: number, createdAt: Date, expiresAt: Date): Promise<number>;
  add(familyId: number, tokenHash: string, createdAt: Date): Promise<void>;
  /** The token and its family, the family locked until the unit of work ends: one rotation at a time. */
  lockByHash(tokenHash: string): Promise<RefreshTokenState | undefined>;
  spend(tokenHash: string, at: Date): Promise<void>;
  endFamily(familyId: number, at: Date): Promise<void>;
  endAllFamiliesOf(userId: number, at: Date): Promise<void>;
}

/** Housekeeping outside any request. */
export interface RefreshTokenPurge {
  /**
   * Deletes the families that expired before `expiredBefore`, ended or not, with all their tokens, at most
   * `batchSize` rows per statement; returns how many families. A family still alive keeps its spent tokens:
   * one presented again is theft.
   */
  purge(expiredBefore: Date, batchSize?: number): Promise<number>;
}
