import type { RefreshTokenRepository } from '../../application/ports/refresh-token-repository.js';
import type { RefreshTokenState } from '../../domain/account/refresh-token.js';
import type { Db } from './database.js';

const bytes = (tokenHash: string) => Buffer.from(tokenHash, 'base64url');

/** Refresh tokens as SHA-256 hashes (bytea); a family row per login is what rotations lock. */
export class PgRefreshTokens implements RefreshTokenRepository {
  constructor(private readonly db: Db) {}

  async startFamily(userId: number, createdAt: Date, expiresAt: Date): Promise<number> {
    const row = await this.db
      .insertInto('refresh_token_families')
      .values({ user_id: userId, created_at: createdAt, expires_at: expiresAt })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async add(familyId: number, tokenHash: string, createdAt: Date): Promise<void> {
    await this.db
      .insertInto('refresh_tokens')
      .values({ token_hash: bytes(tokenHash), family_id: familyId, created_at: createdAt })
      .execute();
  }

  async lockByHash(tokenHash: string): Promise<RefreshTokenState | undefined> {
    // The family row is the lock every rotation and logout of this login queues on. The token row is locked
    // too: a rotation that waited for another one of the same token must read the spent_at that one wrote.
    // (Under read committed a row that was only locked, not updated, is not read again after the wait: with
    // the family row alone, both rotations read spent_at as null from before the wait, and both won.)
    const row = await this.db
      .selectFrom('refresh_tokens as t')
      .innerJoin('refresh_token_families as f', 'f.id', 't.family_id')
      .select(['f.id as familyId', 'f.user_id as userId', 't.spent_at', 'f.expires_at', 'f.ended_at'])
      .where('t.token_hash', '=', bytes(tokenHash))
      .forUpdate(['t', 'f'])
      .executeTakeFirst();
    return (
      row && {
        familyId: row.familyId,
        userId: row.userId,
        spentAt: row.spent_at,
        familyExpiresAt: row.expires_at,
        familyEndedAt: row.ended_at,
      }
    );
  }

  async spend(tokenHash: string, at: Date): Promise<void> {
    await this.db
      .updateTable('refresh_tokens')
      .set({ spent_at: at })
      .where('token_hash', '=', bytes(tokenHash))
      .execute();
  }

  async endFamily(familyId: number, at: Date): Promise<void> {
    await this.db
      .updateTable('refresh_token_families')
      .set({ ended_at: at })
      .where('id', '=', familyId)
      .where('ended_at', 'is', null)
      .execute();
  }

  async endAllFamiliesOf(userId: number, at: Date): Promise<void> {
    await this.db
      .updateTable('refresh_token_families')
      .set({ ended_at: at })
      .where('user_id', '=', userId)
      .where('ended_at', 'is', null)
      .execute();
  }
}
