import { InvalidCredentialsError, TooManyLoginsError } from '../../domain/account/account-errors.js';
import { clientKey } from '../../domain/account/client-rate-limit.js';
import {
  LOGIN_FAILURE_LIMIT,
  LOGIN_FAILURE_LIMIT_ALL_ADDRESSES,
  LOGIN_FAILURE_WINDOW_MS,
} from '../../domain/account/refresh-token.js';
import type { AccountQueries } from '../ports/account-repository.js';
import type { PasswordHasher } from '../ports/access-tokens.js';
import type { LoginAttempts } from '../ports/login-attempts.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';
import type { Session, SessionIssuer } from './sessions.js';

export interface LogInInput {
  readonly email: string;
  readonly password: string;
  /**
   * Where the login comes from: failures are counted per email and address, and per email. Undefined once
   * the client's connection has closed.
   */
  readonly clientAddress: string | undefined;
}

const LIMITS = { perAddress: LOGIN_FAILURE_LIMIT, allAddresses: LOGIN_FAILURE_LIMIT_ALL_ADDRESSES };

/**
 * Email and password for a session. Every attempt takes a slot of the email's failure budgets (from its
 * client address, and from all addresses) before the password is checked (so concurrent guesses on many instances can't pass the limit) and gives it back when
 * the password was right. An unknown email is checked against a dummy hash: it answers the same, as slowly.
 */
export class LogIn {
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly accounts: AccountQueries,
    private readonly hasher: PasswordHasher,
    private readonly attempts: LoginAttempts,
    private readonly sessions: SessionIssuer,
  ) {}

  async execute({ email, password, clientAddress }: LogInInput): Promise<Session> {
    const slot = await this.attempts.reserve(
      { email: email.trim(), clientAddress: clientKey(clientAddress) },
      LIMITS,
      LOGIN_FAILURE_WINDOW_MS,
    );
    if (!slot.granted) throw new TooManyLoginsError(Math.max(1, Math.ceil(slot.retryAfterMs / 1000)));

    const found = await this.accounts.findByEmail(email.trim());
    let matches: boolean;
    try {
      matches = await this.hasher.verify(found?.passwordHash ?? (await this.dummy()), password);
    } catch (refusal) {
      // No verdict (a hasher at capacity refuses before checking anything): no guess was made, so no failure.
      await this.attempts.forget(slot.attemptId);
      throw refusal;
    }
    if (!found || !matches) throw new InvalidCredentialsError();

    await this.attempts.forget(slot.attemptId);
    const tokenVersion = (await this.accounts.tokenStateOf(found.user.id))?.version ?? 0;
    return this.uow.run((repos) => this.sessions.start(repos, found.user, tokenVersion));
  }

  private dummy(): Promise<string> {
    // A refused hash is not kept, or every unknown email would be refused from then on.
    return (this.dummyHash ??= this.hasher.hash('a password nobody has').catch((refusal: unknown) => {
      this.dummyHash = undefined;
      throw refusal;
    }));
  }
}
