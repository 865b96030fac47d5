import type { UserQueries, UserRepository } from '../../application/ports/user-repository.js';
import { User, type UserDraft } from '../../domain/user/user.js';
import type { InMemoryStore } from './in-memory-store.js';

export class InMemoryUserRepository implements UserRepository, UserQueries {
  constructor(private readonly store: InMemoryStore) {}

  async add(draft: UserDraft): Promise<User> {
    const props = { ...draft, id: this.store.nextId('users') };
    this.store.state.users.set(props.id, props);
    return new User(props);
  }

  async exists(userId: number): Promise<boolean> {
    return this.store.state.users.has(userId);
  }
}
