import type { NewUser, UserRepository } from '../../application/ports/user-repository.js';
import type { User } from '../../domain/user/user.js';
import type { Db } from './database.js';

export class PgUserRepository implements UserRepository {
  constructor(private readonly db: Db) {}

  async add({ name, createdAt }: NewUser): Promise<User> {
    const row = await this.db
      .insertInto('users')
      .values({ name, created_at: createdAt })
      .returning(['id', 'name', 'created_at'])
      .executeTakeFirstOrThrow();
    return { id: row.id, name: row.name, createdAt: row.created_at };
  }
}
