import { sql } from 'kysely';
import pg from 'pg';
import type {
  IdempotencyKeyPurge,
  IdempotencyKeyRepository,
  IdempotencyRecord,
} from '../../application/ports/idempotency-keys.js';
import type { Db } from './database.js';
import { atCommit } from './pg-transaction-context.js';

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

  /**
   * Sent with the transaction's COMMIT, in one message: the key is the last thing its unit of work writes,
   * after the effect, which may hold a hot row (a busy balance, a campaign) locked till the commit. The
   * values are inlined as literals (escaped by pg's escapeLiteral, which quotes backslashes too) since such
   * a message can have no parameters.
   */
  async save(record: IdempotencyRecord): Promise<void> {
    const upsert = upsertOf(record);
    if (!atCommit(this.db, upsert)) await sql.raw(upsert).execute(this.db);
  }

  async purge(before: Date): Promise<number> {
    const result = await this.db.deleteFrom('idempotency_keys').where('created_at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

const literal = (value: string) => pg.escapeLiteral(value);
const integer = (value: number) => {
  if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return String(value);
};

function upsertOf({ userId, key, route, requestHash, response, createdAt }: IdempotencyRecord): string {
  return `INSERT INTO idempotency_keys (user_id, key, route, request_hash, status_code, response, created_at)
    VALUES (${integer(userId)}, ${literal(key)}, ${literal(route)}, ${literal(requestHash)},
      ${integer(response.status)}, ${literal(JSON.stringify(response.body))}::jsonb,
      ${literal(createdAt.toISOString())}::timestamptz)
    ON CONFLICT (user_id, key) DO UPDATE SET route = EXCLUDED.route, request_hash = EXCLUDED.request_hash,
      status_code = EXCLUDED.status_code, response = EXCLUDED.response, created_at = EXCLUDED.created_at`;
}
