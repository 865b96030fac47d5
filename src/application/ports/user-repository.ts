import type { User } from '../../domain/user/user.js';

export interface NewUser {
  readonly name: string;
  readonly createdAt: Date;
}

export interface UserRepository {
  add(user: NewUser): Promise<User>;
}
