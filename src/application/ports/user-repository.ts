import type { User } from '../../domain/user/user.js';

export interface NewUser {
  readonly name: string;
  readonly createdAt: Date;
}

export interface UserRepository {
  add(user: NewUser): Promise<User>;
  exists(userId: number): Promise<boolean>;
}

/** Reads that need no transaction. */
export interface UserQueries {
  exists(userId: number): Promise<boolean>;
}
