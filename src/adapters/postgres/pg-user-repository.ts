import type { UserQueries, UserRepository } from '../../application/ports/user-repository.js';
import { User, type UserDraft } from '../../domain/user/user.js';
import type { Db } from './database.js';
import { readerFor } from './pg-transaction-context.js';

/** Bound to a transaction inside a unit of work, or to the pool for reads. */
export class PgUserRepository implements UserRepository, UserQueries {
  constructor(private readonly db: Db) {}

  async add({ name, createdAt }: UserDraft): Promise<User> {
    const row = await this.db
      .insertInto('users')
      .values({ name, created_at: createdAt })
      .returning(['id', 'name', 'created_at'])
      .executeTakeFirstOrThrow();
    return new User({ id: row.id, name: row.name, createdAt: row.created_at });
  }

  async exists(userId: number): Promise<boolean> {
    const row = await readerFor(this.db).selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
    return row !== undefined;
  }
}
