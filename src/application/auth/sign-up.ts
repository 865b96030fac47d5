import { validEmail, validPassword } from '../../domain/account/credentials.js';
import { Balance } from '../../domain/balance/balance.js';
import { type Role, User } from '../../domain/user/user.js';
import type { PasswordHasher } from '../ports/access-tokens.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';

export interface SignUpInput {
  readonly email: string;
  readonly password: string;
  readonly name: string;
}

/**
 * A new customer account: the user, its zero balance and its password credential in one transaction. Two
 * sign-ups with one email (in any letter case) race to the unique index, which lets exactly one in.
 */
export class SignUp {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly hasher: PasswordHasher,
    private readonly clock: Clock,
  ) {}

  execute(input: SignUpInput): Promise<User> {
    return this.create(input, 'CUSTOMER');
  }

  /** For the shop's own set-up (the start-up admin, the demo's accounts), never reachable with another role over HTTP. */
  async create({ email, password, name }: SignUpInput, role: Role): Promise<User> {
    const draft = User.draft({ name, role, email: validEmail(email), createdAt: this.clock.now() });
    // Hashed before the transaction opens: the slow part holds no connection and no lock.
    const passwordHash = await this.hasher.hash(validPassword(password));
    return this.uow.run(async (repos) => {
      const user = await repos.users.add(draft);
      await repos.balances.add(Balance.open(user.id, user.createdAt));
      await repos.accounts.addPasswordCredential(user.id, draft.email!, passwordHash);
      return user;
    });
  }
}
