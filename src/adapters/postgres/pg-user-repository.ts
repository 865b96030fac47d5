import type { UserQueries, UserRepository } from '../../application/ports/user-repository.js';
import { User, type UserDraft } from '../../domain/user/user.js';
import type { Db } from './database.js';
import { readerFor } from './pg-transaction-context.js';

export const USER_COLUMNS = ['id', 'name', 'role', 'email', 'created_at'] as const;

export const toUser = (row: { id: number; name: string; role: User['role']; email: string | null; created_at: Date }) =>
  new User({ id: row.id, name: row.name, role: row.role, email: row.email, createdAt: row.created_at });

/** Bound to a transaction inside a unit of work, or to the pool for reads. */
export class PgUserRepository implements UserRepository, UserQueries {
  constructor(private readonly db: Db) {}

  async add({ name, role, email, createdAt }: UserDraft): Promise<User> {
    const row = await this.db
      .insertInto('users')
      .values({ name, role, email, created_at: createdAt })
      .returning(USER_COLUMNS)
      .executeTakeFirstOrThrow();
    return toUser(row);
  }

  async exists(userId: number): Promise<boolean> {
    const row = await readerFor(this.db).selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
    return row !== undefined;
  }
}
