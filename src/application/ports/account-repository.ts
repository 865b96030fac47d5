import type { User } from '../../domain/user/user.js';

/** A password login: the account and the hash its password is checked against. */
export interface PasswordAccount {
  readonly user: User;
  readonly passwordHash: string;
}

/** What ends a user's access tokens: see AccountRepository.bumpTokenVersion. */
export interface TokenState {
  /** Our own tokens carry the version they were issued under and work only while it is current. */
  readonly version: number;
  /** The last logout-all, null before the first: an identity provider's tokens issued before it are refused. */
  readonly notBefore: Date | null;
}

/** Writes, inside a unit of work. */
export interface AccountRepository {
  /** Throws EmailTakenError when another account has the email in any letter case (the unique index says so). */
  addPasswordCredential(userId: number, email: string, passwordHash: string): Promise<void>;
  /** False when (issuer, subject) is linked already: another request linked it first. */
  linkExternalIdentity(issuer: string, subject: string, userId: number): Promise<boolean>;
  /**
   * Ends every access token issued so far: the version moves on (our own tokens carry the one they were issued
   * under), and the not-before instant becomes now (an identity provider's tokens carry only their issue time).
   * Now is the database's clock where there is one, so every instance's logout-all is timed by the same clock.
   */
  bumpTokenVersion(userId: number): Promise<void>;
}

/** Reads: no lock, no transaction of their own (see "Reads" on UnitOfWork). */
export interface AccountQueries {
  findById(userId: number): Promise<User | undefined>;
  /** Case-insensitive. */
  findByEmail(email: string): Promise<PasswordAccount | undefined>;
  findByExternalIdentity(issuer: string, subject: string): Promise<User | undefined>;
  /** Undefined when there is no such user. */
  tokenStateOf(userId: number): Promise<TokenState | undefined>;
  /** The states of several users in one read; a user who does not exist is missing from the map. */
  tokenStatesOf(userIds: readonly number[]): Promise<Map<number, TokenState>>;
}
