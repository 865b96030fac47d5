import { InvalidRefreshTokenError } from '../../domain/account/account-errors.js';
import { judgeRefresh } from '../../domain/account/refresh-token.js';
import type { AccountQueries } from '../ports/account-repository.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';
import { type Session, type SessionIssuer, hashRefreshToken } from './sessions.js';

export interface RefreshSessionInput {
  readonly refreshToken: string;
}

/**
 * Spends a refresh token for the next one. The family row is locked for the whole rotation, so of two
 * concurrent refreshes with one token exactly one rotates; the other finds it spent, which is reuse: the
 * family ends (committed), both the token and the one issued in its place stop working, and the user's
 * access tokens are revoked through their token version.
 */
export class RefreshSession {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly accounts: AccountQueries,
    private readonly sessions: SessionIssuer,
    private readonly clock: Clock,
  ) {}

  async execute({ refreshToken }: RefreshSessionInput): Promise<Session> {
    const tokenHash = hashRefreshToken(refreshToken);
    const session = await this.uow.run(async (repos) => {
      const token = await repos.refreshTokens.lockByHash(tokenHash);
      if (!token) return undefined;
      const now = this.clock.now();
      switch (judgeRefresh(token, now)) {
        case 'REFUSE':
          return undefined;
        case 'END_FAMILY':
          // Theft: the login ends, and so does every access token of the user (whoever refreshed last holds
          // one). Their other logins' refresh tokens still work, so those devices just refresh once.
          await repos.refreshTokens.endFamily(token.familyId, now);
          await repos.accounts.bumpTokenVersion(token.userId);
          return undefined;
        case 'ROTATE': {
          const account = await this.accounts.findById(token.userId);
          const tokenVersion = (await this.accounts.tokenStateOf(token.userId))?.version;
          if (!account || tokenVersion === undefined) return undefined;
          await repos.refreshTokens.spend(tokenHash, now);
          return this.sessions.continue(repos, token.familyId, account, tokenVersion);
        }
      }
    });
    if (!session) throw new InvalidRefreshTokenError();
    return session;
  }
}
