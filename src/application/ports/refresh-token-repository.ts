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
