import { describe, expect, it } from 'vitest';
import { Argon2PasswordHasher } from '../../../src/adapters/auth/argon2-password-hasher.js';
import { JoseAccessTokens } from '../../../src/adapters/auth/jose-access-tokens.js';
import { newSigningKeyPem, parseSigningKey } from '../../../src/adapters/auth/signing-keys.js';
import { InMemoryAccounts, InMemoryLoginAttempts } from '../../../src/adapters/memory/in-memory-accounts.js';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { InMemoryUnitOfWork } from '../../../src/adapters/memory/in-memory-unit-of-work.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { LogIn } from '../../../src/application/auth/log-in.js';
import { SessionIssuer } from '../../../src/application/auth/sessions.js';
import { SignUp } from '../../../src/application/auth/sign-up.js';
import { type PasswordHasher, PasswordHasherBusyError } from '../../../src/application/ports/access-tokens.js';
import { InvalidCredentialsError } from '../../../src/domain/account/account-errors.js';
import { LOGIN_FAILURE_LIMIT } from '../../../src/domain/account/refresh-token.js';
import { fromTestAddress } from '../../support/client-address.js';

const PASSWORD = 'correct horse battery';

/** Argon2id (cheap parameters) that refuses every call, as a hasher at capacity does, while `busy` is set. */
class SwitchableHasher implements PasswordHasher {
  busy = false;
  private readonly real = new Argon2PasswordHasher({ algorithm: 2, memoryCost: 8_192, timeCost: 1, parallelism: 1 });

  hash(password: string): Promise<string> {
    return this.busy ? Promise.reject(new PasswordHasherBusyError()) : this.real.hash(password);
  }

  verify(hash: string, password: string): Promise<boolean> {
    return this.busy ? Promise.reject(new PasswordHasherBusyError()) : this.real.verify(hash, password);
  }
}

async function shop() {
  const store = new InMemoryStore();
  const clock = new ManualClock('2026-11-24T03:00:00.000Z');
  const hasher = new SwitchableHasher();
  const uow = new InMemoryUnitOfWork(store);
  const tokens = new JoseAccessTokens({ signingKey: parseSigningKey(newSigningKeyPem()), lifetimeSeconds: 900, clock });
  const sessions = new SessionIssuer(tokens, clock, { refreshTokenTtlMs: 86_400_000 });
  const logIn = fromTestAddress(
    new LogIn(uow, new InMemoryAccounts(store), hasher, new InMemoryLoginAttempts(store, clock), sessions),
  );
  await new SignUp(uow, hasher, clock).execute({ email: 'ana@example.com', password: PASSWORD, name: 'Ana' });
  return { store, hasher, logIn };
}

describe('LogIn while the password hasher is at capacity', () => {
  it('counts a refused check as no failed login: past the limit of refusals, the right password still logs in', async () => {
    const { store, hasher, logIn } = await shop();
    hasher.busy = true;
    for (let i = 0; i <= LOGIN_FAILURE_LIMIT; i += 1) {
      await expect(logIn.execute({ email: 'ana@example.com', password: 'a wrong guess' })).rejects.toBeInstanceOf(
        PasswordHasherBusyError,
      );
    }
    expect(store.state.loginAttempts).toEqual([]);

    hasher.busy = false;
    await expect(logIn.execute({ email: 'Ana@Example.com', password: PASSWORD })).resolves.toMatchObject({
      account: { email: 'ana@example.com' },
    });
  });

  it('still counts a wrong password that was checked', async () => {
    const { store, logIn } = await shop();
    await expect(logIn.execute({ email: 'ana@example.com', password: 'a wrong guess' })).rejects.toBeInstanceOf(
      InvalidCredentialsError,
    );
    expect(store.state.loginAttempts).toHaveLength(1);
  });

  it('does not keep a refused dummy hash: an unknown email answers INVALID_CREDENTIALS once there is room again', async () => {
    const { store, hasher, logIn } = await shop();
    hasher.busy = true;
    await expect(logIn.execute({ email: 'nobody@example.com', password: 'whatever' })).rejects.toBeInstanceOf(
      PasswordHasherBusyError,
    );
    expect(store.state.loginAttempts).toEqual([]);

    hasher.busy = false;
    await expect(logIn.execute({ email: 'nobody@example.com', password: 'whatever' })).rejects.toBeInstanceOf(
      InvalidCredentialsError,
    );
    expect(store.state.loginAttempts).toHaveLength(1);
  });
});
