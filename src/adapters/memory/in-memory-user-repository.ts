import type { NewUser, UserQueries, UserRepository } from '../../application/ports/user-repository.js';
import type { User } from '../../domain/user/user.js';
import type { InMemoryStore } from './in-memory-store.js';

export class InMemoryUserRepository implements UserRepository, UserQueries {
  constructor(private readonly store: InMemoryStore) {}

  async add({ name, createdAt }: NewUser): Promise<User> {
    const user = { id: this.store.nextId('users'), name, createdAt };
    this.store.state.users.set(user.id, user);
    return user;
  }

  async exists(userId: number): Promise<boolean> {
    return this.store.state.users.has(userId);
  }
}
