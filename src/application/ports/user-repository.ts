import type { User, UserDraft } from '../../domain/user/user.js';

export interface UserRepository {
  add(draft: UserDraft): Promise<User>;
  exists(userId: number): Promise<boolean>;
}

/** Reads: no lock, no transaction of their own (see "Reads" on UnitOfWork). */
export interface UserQueries {
  exists(userId: number): Promise<boolean>;
}
