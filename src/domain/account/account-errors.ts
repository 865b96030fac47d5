import { DomainError } from '../shared/domain-error.js';

export class EmailTakenError extends DomainError {
  readonly code = 'EMAIL_TAKEN';

  constructor() {
    super('An account with this email already exists.');
  }
}

/** The same answer for an unknown email and a wrong password, so the answer tells nobody which it was. */
export class InvalidCredentialsError extends DomainError {
  readonly code = 'INVALID_CREDENTIALS';

  constructor() {
    super('The email or the password is wrong.');
  }
}

export class TooManyLoginsError extends DomainError {
  readonly code = 'TOO_MANY_REQUESTS';

  constructor(readonly retryAfterSeconds: number) {
    super(`Too many failed logins for this email; try again in ${retryAfterSeconds} s.`, { retryAfterSeconds });
  }
}

export class InvalidRefreshTokenError extends DomainError {
  readonly code = 'INVALID_REFRESH_TOKEN';

  constructor() {
    super('The refresh token is unknown, spent, expired or revoked; log in again.');
  }
}

/** No token, or one that is malformed, expired, wrongly signed or revoked. */
export class UnauthenticatedError extends DomainError {
  readonly code = 'UNAUTHENTICATED';

  constructor(reason = 'A valid bearer access token is required.') {
    super(reason);
  }
}

/** One client address sent more unauthenticated requests than its limit allows within the window. */
export class ClientRateLimitedError extends DomainError {
  readonly code = 'TOO_MANY_REQUESTS';

  constructor(readonly retryAfterSeconds: number) {
    super(`Too many requests from this client address; try again in ${retryAfterSeconds} s.`, { retryAfterSeconds });
  }
}
