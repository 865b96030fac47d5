import { createHash, randomBytes } from 'node:crypto';
import type { User } from '../../domain/user/user.js';
import type { AccessTokens } from '../ports/access-tokens.js';
import type { Clock } from '../ports/clock.js';
import type { TransactionalRepositories } from '../ports/unit-of-work.js';

/** What a login or a refresh answers: a short-lived access token and the next refresh token of the login. */
export interface Session {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly refreshToken: string;
  readonly account: User;
}

/** 256 random bits, base64url: what the client holds. Only its hash is stored. */
function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 is enough for a 256-bit random secret: there is nothing to guess, so no slow hash is needed. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

export interface SessionSettings {
  /** A login's refresh tokens stop working this long after the login, however often they rotate. */
  readonly refreshTokenTtlMs: number;
}

/** Issues the tokens of a session; the refresh token's row is written in the caller's unit of work. */
export class SessionIssuer {
  constructor(
    private readonly accessTokens: AccessTokens,
    private readonly clock: Clock,
    private readonly settings: SessionSettings,
  ) {}

  /** A new login: a new family with its first token. */
  async start(repos: TransactionalRepositories, account: User, tokenVersion: number): Promise<Session> {
    const now = this.clock.now();
    const familyId = await repos.refreshTokens.startFamily(
      account.id,
      now,
      new Date(now.getTime() + this.settings.refreshTokenTtlMs),
    );
    return this.continue(repos, familyId, account, tokenVersion);
  }

  /** The next token of an existing family, with a fresh access token. */
  async continue(
    repos: TransactionalRepositories,
    familyId: number,
    account: User,
    tokenVersion: number,
  ): Promise<Session> {
    const refreshToken = newRefreshToken();
    await repos.refreshTokens.add(familyId, hashRefreshToken(refreshToken), this.clock.now());
    const accessToken = await this.accessTokens.issue({ userId: account.id, role: account.role, tokenVersion });
    return { accessToken, expiresIn: this.accessTokens.lifetimeSeconds, refreshToken, account };
  }
}
