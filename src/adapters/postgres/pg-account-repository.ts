import { sql } from 'kysely';
import type {
  AccountQueries,
  AccountRepository,
  PasswordAccount,
  TokenState,
} from '../../application/ports/account-repository.js';
import { EmailTakenError } from '../../domain/account/account-errors.js';
import type { User } from '../../domain/user/user.js';
import type { Db } from './database.js';
import { readerFor } from './pg-transaction-context.js';
import { USER_COLUMNS, toUser } from './pg-user-repository.js';

/** Accounts over `users`, `password_credentials` and `external_identities`. */
export class PgAccountRepository implements AccountRepository, AccountQueries {
  constructor(private readonly db: Db) {}

  async addPasswordCredential(userId: number, email: string, passwordHash: string): Promise<void> {
    // The unique index on lower(email) decides; ON CONFLICT keeps the transaction usable after a clash.
    const inserted = await this.db
      .insertInto('password_credentials')
      .values({ user_id: userId, email, password_hash: passwordHash })
      .onConflict((oc) => oc.expression(sql`lower(email)`).doNothing())
      .returning('user_id')
      .executeTakeFirst();
    if (!inserted) throw new EmailTakenError();
  }

  async linkExternalIdentity(issuer: string, subject: string, userId: number): Promise<boolean> {
    const inserted = await this.db
      .insertInto('external_identities')
      .values({ issuer, subject, user_id: userId })
      .onConflict((oc) => oc.columns(['issuer', 'subject']).doNothing())
      .returning('user_id')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async bumpTokenVersion(userId: number): Promise<void> {
    await this.db
      .updateTable('users')
      .set((eb) => ({
        token_version: eb('token_version', '+', 1),
        // GREATEST skips a null, and never moves the instant back should the server's clock step back.
        tokens_not_before: sql<Date>`GREATEST(tokens_not_before, now())`,
      }))
      .where('id', '=', userId)
      .execute();
  }

  async findById(userId: number): Promise<User | undefined> {
    const row = await readerFor(this.db)
      .selectFrom('users')
      .select(USER_COLUMNS)
      .where('id', '=', userId)
      .executeTakeFirst();
    return row && toUser(row);
  }

  async findByEmail(email: string): Promise<PasswordAccount | undefined> {
    const row = await readerFor(this.db)
      .selectFrom('password_credentials as c')
      .innerJoin('users as u', 'u.id', 'c.user_id')
      .select(['u.id', 'u.name', 'u.role', 'u.email', 'u.created_at', 'c.password_hash'])
      .where(sql<string>`lower(c.email)`, '=', sql<string>`lower(${email})`)
      .executeTakeFirst();
    return row && { user: toUser(row), passwordHash: row.password_hash };
  }

  async findByExternalIdentity(issuer: string, subject: string): Promise<User | undefined> {
    const row = await readerFor(this.db)
      .selectFrom('external_identities as x')
      .innerJoin('users as u', 'u.id', 'x.user_id')
      .select(['u.id', 'u.name', 'u.role', 'u.email', 'u.created_at'])
      .where('x.issuer', '=', issuer)
      .where('x.subject', '=', subject)
      .executeTakeFirst();
    return row && toUser(row);
  }

  async tokenStateOf(userId: number): Promise<TokenState | undefined> {
    const row = await readerFor(this.db)
      .selectFrom('users')
      .select(['token_version', 'tokens_not_before'])
      .where('id', '=', userId)
      .executeTakeFirst();
    return row && { version: row.token_version, notBefore: row.tokens_not_before };
  }

  /**
   * On the pool, never on a transaction of the caller's: the users of one batch come from many requests,
   * and the request that happened to start the batch may be inside a transaction of its own.
   */
  async tokenStatesOf(userIds: readonly number[]): Promise<Map<number, TokenState>> {
    const rows = await this.db
      .selectFrom('users')
      .select(['id', 'token_version', 'tokens_not_before'])
      .where('id', '=', sql<number>`ANY(${[...userIds]}::bigint[])`)
      .execute();
    return new Map(rows.map((row) => [row.id, { version: row.token_version, notBefore: row.tokens_not_before }]));
  }
}
