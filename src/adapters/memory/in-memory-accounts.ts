import type {
  AccountQueries,
  AccountRepository,
  PasswordAccount,
  TokenState,
} from '../../application/ports/account-repository.js';
import type {
  LoginAttemptKey,
  LoginAttemptLimits,
  LoginAttempts,
  LoginSlot,
} from '../../application/ports/login-attempts.js';
import type { RefreshTokenPurge, RefreshTokenRepository } from '../../application/ports/refresh-token-repository.js';
import type { Clock } from '../../application/ports/clock.js';
import { EmailTakenError } from '../../domain/account/account-errors.js';
import { foldedEmail } from '../../domain/account/credentials.js';
import type { RefreshTokenState } from '../../domain/account/refresh-token.js';
import { User } from '../../domain/user/user.js';
import { systemClock } from '../system-clock.js';
import type { InMemoryStore } from './in-memory-store.js';

/** Timed by the app's clock (the unit of work passes it on): in memory there is no database clock. */
export class InMemoryAccounts implements AccountRepository, AccountQueries {
  constructor(
    private readonly store: InMemoryStore,
    private readonly clock: Clock = systemClock,
  ) {}

  async addPasswordCredential(userId: number, email: string, passwordHash: string): Promise<void> {
    const taken = [...this.store.state.credentials.values()].some((c) => foldedEmail(c.email) === foldedEmail(email));
    if (taken) throw new EmailTakenError();
    this.store.state.credentials.set(userId, { email, passwordHash });
  }

  async linkExternalIdentity(issuer: string, subject: string, userId: number): Promise<boolean> {
    const key = JSON.stringify([issuer, subject]);
    if (this.store.state.externalIdentities.has(key)) return false;
    this.store.state.externalIdentities.set(key, userId);
    return true;
  }

  async bumpTokenVersion(userId: number): Promise<void> {
    const versions = this.store.state.tokenVersions;
    versions.set(userId, (versions.get(userId) ?? 0) + 1);
    const now = this.clock.now();
    const before = this.store.state.tokensNotBefore.get(userId);
    this.store.state.tokensNotBefore.set(userId, before && before > now ? before : now);
  }

  async findById(userId: number): Promise<User | undefined> {
    const props = this.store.state.users.get(userId);
    return props && new User(props);
  }

  async findByEmail(email: string): Promise<PasswordAccount | undefined> {
    for (const [userId, credential] of this.store.state.credentials) {
      if (foldedEmail(credential.email) !== foldedEmail(email)) continue;
      return { user: new User(this.store.state.users.get(userId)!), passwordHash: credential.passwordHash };
    }
    return undefined;
  }

  async findByExternalIdentity(issuer: string, subject: string): Promise<User | undefined> {
    const userId = this.store.state.externalIdentities.get(JSON.stringify([issuer, subject]));
    return userId === undefined ? undefined : this.findById(userId);
  }

  async tokenStateOf(userId: number): Promise<TokenState | undefined> {
    if (!this.store.state.users.has(userId)) return undefined;
    const version = this.store.state.tokenVersions.get(userId) ?? 0;
    const notBefore = this.store.state.tokensNotBefore.get(userId);
    return { version, notBefore: notBefore ? new Date(notBefore) : null };
  }

  async tokenStatesOf(userIds: readonly number[]): Promise<Map<number, TokenState>> {
    const states = new Map<number, TokenState>();
    for (const userId of userIds) {
      const state = await this.tokenStateOf(userId);
      if (state) states.set(userId, state);
    }
    return states;
  }
}

/** Runs inside the in-memory unit of work, which serialises everything: that is its lock. */
export class InMemoryRefreshTokens implements RefreshTokenRepository, RefreshTokenPurge {
  constructor(private readonly store: InMemoryStore) {}

  async startFamily(userId: number, _createdAt: Date, expiresAt: Date): Promise<number> {
    const id = this.store.nextId('refreshFamilies');
    this.store.state.refreshFamilies.set(id, { userId, expiresAt, endedAt: null });
    return id;
  }

  async add(familyId: number, tokenHash: string): Promise<void> {
    this.store.state.refreshTokens.set(tokenHash, { familyId, spentAt: null });
  }

  async lockByHash(tokenHash: string): Promise<RefreshTokenState | undefined> {
    const token = this.store.state.refreshTokens.get(tokenHash);
    const family = token && this.store.state.refreshFamilies.get(token.familyId);
    if (!token || !family) return undefined;
    return {
      familyId: token.familyId,
      userId: family.userId,
      spentAt: token.spentAt,
      familyExpiresAt: family.expiresAt,
      familyEndedAt: family.endedAt,
    };
  }

  async spend(tokenHash: string, at: Date): Promise<void> {
    const token = this.store.state.refreshTokens.get(tokenHash);
    if (token) token.spentAt = at;
  }

  async endFamily(familyId: number, at: Date): Promise<void> {
    const family = this.store.state.refreshFamilies.get(familyId);
    if (family && family.endedAt === null) family.endedAt = at;
  }

  async endAllFamiliesOf(userId: number, at: Date): Promise<void> {
    for (const family of this.store.state.refreshFamilies.values())
      if (family.userId === userId && family.endedAt === null) family.endedAt = at;
  }

  async purge(expiredBefore: Date): Promise<number> {
    const { refreshFamilies, refreshTokens } = this.store.state;
    const doomed = new Set<number>();
    for (const [id, family] of refreshFamilies) if (family.expiresAt < expiredBefore) doomed.add(id);
    for (const [hash, token] of refreshTokens) if (doomed.has(token.familyId)) refreshTokens.delete(hash);
    for (const id of doomed) refreshFamilies.delete(id);
    return doomed.size;
  }
}

/** Single-threaded, so "count, then add" is already one step; timed by the given clock. */
export class InMemoryLoginAttempts implements LoginAttempts {
  constructor(
    private readonly store: InMemoryStore,
    private readonly clock: Clock,
  ) {}

  async reserve(
    { email, clientAddress }: LoginAttemptKey,
    { perAddress, allAddresses }: LoginAttemptLimits,
    windowMs: number,
  ): Promise<LoginSlot> {
    const emailKey = foldedEmail(email);
    const now = this.clock.now().getTime();
    const recent = this.store.state.loginAttempts
      .filter((a) => a.emailKey === emailKey && a.at.getTime() > now - windowMs)
      .sort((a, b) => b.at.getTime() - a.at.getTime());
    const fromAddress = recent.filter((a) => a.clientAddress === clientAddress);
    // Each full budget is free again once the oldest attempt of its last `limit` leaves the window.
    const waits = [
      ...(fromAddress.length >= perAddress ? [fromAddress[perAddress - 1]!.at.getTime() + windowMs - now] : []),
      ...(recent.length >= allAddresses ? [recent[allAddresses - 1]!.at.getTime() + windowMs - now] : []),
    ];
    if (waits.length > 0) return { granted: false, retryAfterMs: Math.max(...waits) };
    const attempt = { id: this.store.nextId('loginAttempts'), emailKey, clientAddress, at: new Date(now) };
    this.store.state.loginAttempts.push(attempt);
    return { granted: true, attemptId: attempt.id };
  }

  async forget(attemptId: number): Promise<void> {
    this.store.state.loginAttempts = this.store.state.loginAttempts.filter((a) => a.id !== attemptId);
  }

  async purge(windowMs: number): Promise<number> {
    const before = this.store.state.loginAttempts.length;
    const cutoff = this.clock.now().getTime() - windowMs;
    this.store.state.loginAttempts = this.store.state.loginAttempts.filter((a) => a.at.getTime() > cutoff);
    return before - this.store.state.loginAttempts.length;
  }
}
