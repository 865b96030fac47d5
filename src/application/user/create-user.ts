import { Balance } from '../../domain/balance/balance.js';
import { User } from '../../domain/user/user.js';
import { type Actor, assertAdmin } from '../shared/actor.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';

export interface CreateUserInput {
  readonly actor: Actor;
  readonly name: string;
}

export class CreateUser {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  /** A user is born with a zero balance, in the same transaction, so every user has exactly one. */
  async execute({ actor, name }: CreateUserInput): Promise<User> {
    assertAdmin(actor);
    const draft = User.draft({ name, createdAt: this.clock.now() });
    return this.uow.run(async (repos) => {
      const user = await repos.users.add(draft);
      await repos.balances.add(Balance.open(user.id, user.createdAt));
      return user;
    });
  }
}
