import type { RefreshTokenPurge, RefreshTokenRepository } from '../../application/ports/refresh-token-repository.js';
import type { RefreshTokenState } from '../../domain/account/refresh-token.js';
import type { Db } from './database.js';

const bytes = (tokenHash: string) => Buffer.from(tokenHash, 'base64url');

/** Refresh tokens as SHA-256 hashes (bytea); a family row per login is what rotations lock. */
export class PgRefreshTokens implements RefreshTokenRepository, RefreshTokenPurge {
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

  /**
   * Tokens first, then the families left without any, each a statement of its own of at most `batchSize`
   * rows, so no statement holds many row locks for long; rows a request holds locked are skipped, not waited
   * for (the next purge takes them). No token can join an expired family meanwhile: a rotation needs it alive.
   */
  async purge(expiredBefore: Date, batchSize = 1_000): Promise<number> {
    for (;;) {
      const doomed = this.db
        .selectFrom('refresh_tokens as t')
        .innerJoin('refresh_token_families as f', 'f.id', 't.family_id')
        .select('t.token_hash')
        .where('f.expires_at', '<', expiredBefore)
        .limit(batchSize)
        .forUpdate('t')
        .skipLocked();
      const deleted = await this.db.deleteFrom('refresh_tokens').where('token_hash', 'in', doomed).executeTakeFirst();
      if (Number(deleted.numDeletedRows) < batchSize) break;
    }
    let families = 0;
    for (;;) {
      const doomed = this.db
        .selectFrom('refresh_token_families as f')
        .select('f.id')
        .where('f.expires_at', '<', expiredBefore)
        .where((eb) =>
          eb.not(
            eb.exists(eb.selectFrom('refresh_tokens as t').select('t.family_id').whereRef('t.family_id', '=', 'f.id')),
          ),
        )
        .limit(batchSize)
        .forUpdate()
        .skipLocked();
      const deleted = await this.db.deleteFrom('refresh_token_families').where('id', 'in', doomed).executeTakeFirst();
      families += Number(deleted.numDeletedRows);
      if (Number(deleted.numDeletedRows) < batchSize) return families;
    }
  }
}
