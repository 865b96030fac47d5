import type { Role } from '../../domain/user/user.js';

export interface AccessTokenSubject {
  readonly userId: number;
  readonly role: Role;
  /** The user's token version when it was issued; a newer version (logout-all) ends it. */
  readonly tokenVersion: number;
}

/** A token that passed signature, algorithm, issuer, audience and time checks. */
export type VerifiedAccessToken =
  | ({ readonly issuedBy: 'SELF' } & AccessTokenSubject)
  | {
      readonly issuedBy: 'EXTERNAL';
      readonly issuer: string;
      readonly subject: string;
      /** Its `iat`, a whole second: a logout-all ends the provider's tokens issued before it. */
      readonly issuedAt: Date;
      readonly isAdmin: boolean;
      readonly name?: string;
      readonly email?: string;
    };

/** Signs and verifies access tokens (JWTs); knows the keys, not the accounts. */
export interface AccessTokens {
  /** Seconds an issued token lives. */
  readonly lifetimeSeconds: number;
  issue(subject: AccessTokenSubject): Promise<string>;
  /** Undefined for anything that is not a valid token of a trusted issuer. */
  verify(token: string): Promise<VerifiedAccessToken | undefined>;
}

/**
 * Hashing is slow on purpose, so a hasher takes only so much at once. Past that, `hash` and `verify` reject
 * with this at once, having checked nothing: no verdict on the password, and the caller may try again shortly.
 */
export class PasswordHasherBusyError extends Error {
  constructor() {
    super('Too many passwords are being checked right now.');
    this.name = 'PasswordHasherBusyError';
  }
}

export interface PasswordHasher {
  /** Rejects with PasswordHasherBusyError when it has no room for more work. */
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a hash it cannot read; PasswordHasherBusyError when it has no room. */
  verify(hash: string, password: string): Promise<boolean>;
}
