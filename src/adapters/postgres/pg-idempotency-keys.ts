import { sql } from 'kysely';
import type {
  IdempotencyKeyPurge,
  IdempotencyKeyRepository,
  IdempotencyRecord,
} from '../../application/ports/idempotency-keys.js';
import type { Db } from './database.js';

export class PgIdempotencyKeys implements IdempotencyKeyRepository, IdempotencyKeyPurge {
  constructor(private readonly db: Db) {}

  /**
   * A transaction-scoped advisory lock on the (user, key) pair: held until this unit of work commits or
   * rolls back, released by PostgreSQL even if the process dies, and never waited for.
   */
  async tryClaim(userId: number, key: string): Promise<boolean> {
    const { rows } = await sql<{ claimed: boolean }>`
      SELECT pg_try_advisory_xact_lock(hashtextextended(${`${userId}:${key}`}, 0)) AS claimed`.execute(this.db);
    return rows[0]?.claimed === true;
  }

  async find(userId: number, key: string, notBefore: Date): Promise<IdempotencyRecord | undefined> {
    const row = await this.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .where('key', '=', key)
      .where('created_at', '>=', notBefore)
      .executeTakeFirst();
    return (
      row && {
        userId: row.user_id,
        key: row.key,
        route: row.route,
        requestHash: row.request_hash,
        response: { status: row.status_code, body: row.response },
        createdAt: row.created_at,
      }
    );
  }

  async save({ userId, key, route, requestHash, response, createdAt }: IdempotencyRecord): Promise<void> {
    const values = {
      route,
      request_hash: requestHash,
      status_code: response.status,
      response: JSON.stringify(response.body),
      created_at: createdAt,
    };
    await this.db
      .insertInto('idempotency_keys')
      .values({ user_id: userId, key, ...values })
      .onConflict((conflict) => conflict.columns(['user_id', 'key']).doUpdateSet(values))
      .execute();
  }

  async purge(before: Date): Promise<number> {
    const result = await this.db.deleteFrom('idempotency_keys').where('created_at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
