import type { Actor } from '../shared/actor.js';
import { UnauthenticatedError } from '../../domain/account/account-errors.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';
import type { TokenVersions } from './token-versions.js';
import { hashRefreshToken } from './sessions.js';

/** Ends the login a refresh token belongs to. An unknown token ends nothing and says nothing. */
export class LogOut {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  async execute({ refreshToken }: { readonly refreshToken: string }): Promise<void> {
    await this.uow.run(async (repos) => {
      const token = await repos.refreshTokens.lockByHash(hashRefreshToken(refreshToken));
      if (token && token.familyEndedAt === null) await repos.refreshTokens.endFamily(token.familyId, this.clock.now());
    });
  }
}

/**
 * Ends every session of the signed-in user: all refresh families, and every access token issued so far, ours
 * and an identity provider's (the token version moves on and the tokens-not-before instant becomes now; each
 * instance reads them at most a second old, see TokenVersions).
 */
export class LogOutEverywhere {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly versions: TokenVersions,
    private readonly clock: Clock,
  ) {}

  async execute({ actor }: { readonly actor: Actor }): Promise<void> {
    if (actor.role === 'SYSTEM') throw new UnauthenticatedError('The system actor has no sessions.');
    const { userId } = actor;
    // Families before the user row: the order reuse detection locks them in, so the two can't deadlock.
    await this.uow.run(async (repos) => {
      await repos.refreshTokens.endAllFamiliesOf(userId, this.clock.now());
      await repos.accounts.bumpTokenVersion(userId);
    });
    this.versions.forget(userId);
  }
}
