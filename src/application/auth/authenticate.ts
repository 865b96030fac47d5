import { UnauthenticatedError } from '../../domain/account/account-errors.js';
import { validEmail } from '../../domain/account/credentials.js';
import { Balance } from '../../domain/balance/balance.js';
import { CONTROL_CHARACTERS } from '../../domain/shared/text.js';
import { USER_NAME_MAX_LENGTH, User } from '../../domain/user/user.js';
import type { AccountQueries, TokenState } from '../ports/account-repository.js';
import type { AccessTokens } from '../ports/access-tokens.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';
import type { Actor } from '../shared/actor.js';
import type { TokenVersions } from './token-versions.js';

type ExternalToken = Extract<Awaited<ReturnType<AccessTokens['verify']>>, { issuedBy: 'EXTERNAL' }>;

/**
 * A bearer token to the actor it speaks for, or UnauthenticatedError. The service's own tokens must carry
 * the user's current token version; an identity provider's token speaks for the account linked to its
 * (issuer, subject), created the first time it is seen, is ADMIN only while the token says so, and must have
 * been issued after the account's last logout-all. Both are read through TokenVersions, so a logout-all on
 * any instance ends both kinds everywhere within a second.
 */
export class Authenticate {
  /** (issuer, subject) → user id: links never change, so each instance remembers them. */
  private readonly linked = new Map<string, number>();

  constructor(
    private readonly tokens: AccessTokens,
    private readonly versions: TokenVersions,
    private readonly accounts: AccountQueries,
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  async execute(token: string): Promise<Actor> {
    const verified = await this.tokens.verify(token);
    if (!verified)
      throw new UnauthenticatedError('The access token is malformed, expired or not signed by a trusted key.');
    if (verified.issuedBy === 'EXTERNAL') {
      const userId = await this.externalAccount(verified);
      if (!issuedAfterLogoutAll(verified, await this.versions.current(userId))) throw revoked();
      return { role: verified.isAdmin ? 'ADMIN' : 'CUSTOMER', userId };
    }
    // A version newer than the one remembered means the memory is stale, not that the token is bad.
    const current = await this.versions.current(verified.userId, verified.tokenVersion);
    if (current === undefined || current.version !== verified.tokenVersion) throw revoked();
    return { role: verified.role, userId: verified.userId };
  }

  private async externalAccount(token: ExternalToken): Promise<number> {
    const key = JSON.stringify([token.issuer, token.subject]);
    const known = this.linked.get(key);
    if (known !== undefined) return known;
    const userId =
      (await this.accounts.findByExternalIdentity(token.issuer, token.subject))?.id ?? (await this.link(token));
    if (this.linked.size >= 100_000) this.linked.clear();
    this.linked.set(key, userId);
    return userId;
  }

  /** The first sight of an identity: a customer with its name and email where the token has them. */
  private async link(token: ExternalToken): Promise<number> {
    const draft = User.draft({
      name: displayName(token),
      email: emailOrNull(token.email),
      createdAt: this.clock.now(),
    });
    const created = await this.uow
      .run(async (repos) => {
        const user = await repos.users.add(draft);
        await repos.balances.add(Balance.open(user.id, user.createdAt));
        // Another request linked it first: undo ours (the throw rolls back) and use theirs.
        if (!(await repos.accounts.linkExternalIdentity(token.issuer, token.subject, user.id)))
          throw new LinkedMeanwhile();
        return user.id;
      })
      .catch((error: unknown) => {
        if (error instanceof LinkedMeanwhile) return undefined;
        throw error;
      });
    if (created !== undefined) return created;
    const theirs = await this.accounts.findByExternalIdentity(token.issuer, token.subject);
    if (!theirs) throw new UnauthenticatedError();
    return theirs.id;
  }
}

class LinkedMeanwhile extends Error {}

const revoked = () => new UnauthenticatedError('The access token has been revoked; log in again.');

/**
 * A provider's token carries no version of ours, only its issue time, in whole seconds: one issued in the
 * second of the logout-all may be from before it, so it is refused too (the safe side). A login at the
 * provider right after a logout-all therefore works once its token's iat is the next second, less than a
 * second later. The boundary is as exact as the provider's clock and ours (the database's) agree.
 */
function issuedAfterLogoutAll(token: ExternalToken, state: TokenState | undefined): boolean {
  if (!state) return false;
  return state.notBefore === null || token.issuedAt.getTime() > state.notBefore.getTime();
}

function displayName(token: ExternalToken): string {
  const given = [token.name, token.email, token.subject]
    .map((text) => text?.replace(new RegExp(CONTROL_CHARACTERS, 'g'), '').trim())
    .find((text) => text);
  return [...(given ?? 'External user')].slice(0, USER_NAME_MAX_LENGTH).join('');
}

function emailOrNull(email: string | undefined): string | null {
  if (email === undefined) return null;
  try {
    return validEmail(email);
  } catch {
    return null;
  }
}
