import { UnauthenticatedError } from '../../domain/account/account-errors.js';
import { User } from '../../domain/user/user.js';
import type { AccountQueries } from '../ports/account-repository.js';
import type { Actor } from '../shared/actor.js';

/**
 * The signed-in caller's own account, with the role the caller acts in: an identity provider's token makes
 * its account (stored as a CUSTOMER) ADMIN for as long as the token's claim says so, and the account shows it.
 */
export class GetAccount {
  constructor(private readonly accounts: AccountQueries) {}

  async execute({ actor }: { readonly actor: Actor }): Promise<User> {
    const account = actor.role === 'SYSTEM' ? undefined : await this.accounts.findById(actor.userId);
    if (!account || actor.role === 'SYSTEM') throw new UnauthenticatedError('The token names no account.');
    return account.role === actor.role ? account : new User({ ...account, role: actor.role });
  }
}
