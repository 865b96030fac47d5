import type { UserQueries, UserRepository } from '../../application/ports/user-repository.js';
import { User, type UserDraft } from '../../domain/user/user.js';
import type { InMemoryStore } from './in-memory-store.js';

export class InMemoryUserRepository implements UserRepository, UserQueries {
  constructor(private readonly store: InMemoryStore) {}

  async add({ name, createdAt }: UserDraft): Promise<User> {
    const props = { id: this.store.nextId('users'), name, createdAt };
    this.store.state.users.set(props.id, props);
    return new User(props);
  }

  async exists(userId: number): Promise<boolean> {
    return this.store.state.users.has(userId);
  }
}
