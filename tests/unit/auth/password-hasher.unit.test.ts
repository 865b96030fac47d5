import { availableParallelism } from 'node:os';
import type * as Argon2 from '@node-rs/argon2';
import { describe, expect, it, vi } from 'vitest';
import { Argon2PasswordHasher } from '../../../src/adapters/auth/argon2-password-hasher.js';
import { PasswordHasherBusyError } from '../../../src/application/ports/access-tokens.js';

/** The real Argon2id, counted: how many of its hashes and verifies have started, and the most at once. */
const argon2 = vi.hoisted(() => ({ started: 0, running: 0, peak: 0 }));
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const actual = await importOriginal<typeof Argon2>();
  const counted =
    <A extends unknown[], R>(run: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      argon2.started += 1;
      argon2.running += 1;
      argon2.peak = Math.max(argon2.peak, argon2.running);
      try {
        return await run(...args);
      } finally {
        argon2.running -= 1;
      }
    };
  return { ...actual, hash: counted(actual.hash), verify: counted(actual.verify) };
});

function countFromHere() {
  argon2.started = 0;
  argon2.peak = 0;
}

/** The order in which the calls settle, each named by its index. */
function settling<T>(calls: Promise<T>[]): { order: string[]; all: Promise<PromiseSettledResult<T>[]> } {
  const order: string[] = [];
  const all = Promise.allSettled(
    calls.map((call, i) =>
      call.then(
        (value) => {
          order.push(`done ${i}`);
          return value;
        },
        (error: unknown) => {
          order.push(`refused ${i}`);
          throw error;
        },
      ),
    ),
  );
  return { order, all };
}

const CHEAP: Argon2.Options = { algorithm: 2, memoryCost: 8_192, timeCost: 1, parallelism: 1 };

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

  describe('bounded work', () => {
    it('runs at most `concurrency` at once, queues `maxQueued` more, and refuses the next at once without hashing it', async () => {
      const limited = new Argon2PasswordHasher(CHEAP, { concurrency: 1, maxQueued: 2 });
      countFromHere();
      const { order, all } = settling([0, 1, 2, 3].map((i) => limited.hash(`password ${i}`)));
      const results = await all;
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
      expect((results[3] as PromiseRejectedResult).reason).toBeInstanceOf(PasswordHasherBusyError);
      // Refused before the first hash was done, and never handed to Argon2id.
      expect(order).toEqual(['refused 3', 'done 0', 'done 1', 'done 2']);
      expect(argon2.started).toBe(3);
      expect(argon2.peak).toBe(1);
    });

    it('refuses a verify it has no room for (it does not answer false), and verifies the queued ones', async () => {
      const limited = new Argon2PasswordHasher(CHEAP, { concurrency: 1, maxQueued: 1 });
      const hash = await limited.hash('the password');
      const results = await Promise.allSettled([0, 1, 2].map(() => limited.verify(hash, 'the password')));
      expect(results.slice(0, 2)).toEqual([
        { status: 'fulfilled', value: true },
        { status: 'fulfilled', value: true },
      ]);
      expect(results[2]).toMatchObject({ status: 'rejected', reason: expect.any(PasswordHasherBusyError) });
    });

    it('frees its place when a hash is done, failed or refused, so it takes work again once the queue drains', async () => {
      const limited = new Argon2PasswordHasher(CHEAP, { concurrency: 1, maxQueued: 0 });
      for (let round = 0; round < 3; round += 1) {
        const [unreadable, refused] = await Promise.allSettled([
          limited.verify('$argon2id$v=19$m=19456,t=2,p=1$broken', 'x'),
          limited.hash('refused'),
        ]);
        expect(unreadable).toEqual({ status: 'fulfilled', value: false });
        expect(refused).toMatchObject({ status: 'rejected', reason: expect.any(PasswordHasherBusyError) });
        await expect(limited.hash('one at a time')).resolves.toMatch(/^\$argon2id\$/);
      }
    });

    it('by default runs no more hashes at once than the cores, and leaves a thread of libuv’s pool to other work', async () => {
      const pool = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
      const limit = Math.max(1, Math.min(availableParallelism(), pool - 1));
      const fresh = new Argon2PasswordHasher(CHEAP);
      countFromHere();
      const hashes = await Promise.all(Array.from({ length: 16 }, (_, i) => fresh.hash(`password ${i}`)));
      expect(new Set(hashes).size).toBe(16);
      expect(argon2.started).toBe(16);
      expect(argon2.peak).toBeLessThanOrEqual(limit);
    });

    it('queues 64 by default: a burst of the bench’s 64 clients is never refused', async () => {
      const fresh = new Argon2PasswordHasher(CHEAP, { concurrency: 1 });
      const results = await Promise.allSettled(Array.from({ length: 66 }, (_, i) => fresh.hash(`password ${i}`)));
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
      expect(results[65]?.status).toBe('rejected');
    });

    it.each([0, -1, 1.5, Number.NaN])('refuses a concurrency of %s', (concurrency) => {
      expect(() => new Argon2PasswordHasher(CHEAP, { concurrency })).toThrow(RangeError);
    });

    it.each([-1, 1.5, Number.NaN])('refuses a queue of %s', (maxQueued) => {
      expect(() => new Argon2PasswordHasher(CHEAP, { maxQueued })).toThrow(RangeError);
    });
  });
});
