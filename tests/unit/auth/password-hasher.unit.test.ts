import { describe, expect, it } from 'vitest';
import { Argon2PasswordHasher } from '../../../src/adapters/auth/argon2-password-hasher.js';

describe('Argon2PasswordHasher', () => {
  const hasher = new Argon2PasswordHasher();

  it('hashes with Argon2id at OWASP’s minimum and a fresh salt each time, and verifies only the right password', async () => {
    const password = 'correct horse battery';
    const [one, two] = await Promise.all([hasher.hash(password), hasher.hash(password)]);
    expect(one.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true);
    expect(one).not.toBe(two);
    expect(one).not.toContain(password);
    await expect(hasher.verify(one, password)).resolves.toBe(true);
    await expect(hasher.verify(two, password)).resolves.toBe(true);
    await expect(hasher.verify(one, 'Correct horse battery')).resolves.toBe(false);
    await expect(hasher.verify(one, `${password} `)).resolves.toBe(false);
  });

  it.each(['', 'not a hash', '$argon2id$v=19$m=19456,t=2,p=1$broken', '$2b$10$abcdefghijklmnopqrstuv'])(
    'answers false, never throws, for the unreadable hash %j',
    async (hash) => {
      await expect(hasher.verify(hash, 'whatever password')).resolves.toBe(false);
    },
  );

  it('verifies a hash made with other parameters, reading them from the hash', async () => {
    const cheaper = new Argon2PasswordHasher({ algorithm: 2, memoryCost: 8_192, timeCost: 1, parallelism: 1 });
    const hash = await cheaper.hash('an older password');
    expect(hash.startsWith('$argon2id$v=19$m=8192,t=1,p=1$')).toBe(true);
    await expect(hasher.verify(hash, 'an older password')).resolves.toBe(true);
  });
});
