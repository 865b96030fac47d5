import { UnauthenticatedError } from '../../domain/account/account-errors.js';
import type { User } from '../../domain/user/user.js';
import type { AccountQueries } from '../ports/account-repository.js';
import type { Actor } from '../shared/actor.js';

/** The signed-in caller's own account. */
export class GetAccount {
  constructor(private readonly accounts: AccountQueries) {}

  async execute({ actor }: { readonly actor: Actor }): Promise<User> {
    const account = actor.role === 'SYSTEM' ? undefined : await this.accounts.findById(actor.userId);
    if (!account) throw new UnauthenticatedError('The token names no account.');
    return account;
  }
}
