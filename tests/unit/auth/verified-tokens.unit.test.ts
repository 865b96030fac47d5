import { generateKeyPairSync } from 'node:crypto';
import type * as Jose from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { JoseAccessTokens } from '../../../src/adapters/auth/jose-access-tokens.js';
import { parseSigningKey } from '../../../src/adapters/auth/signing-keys.js';
import { MAX_REMEMBERED_LENGTH, VerifiedTokens } from '../../../src/adapters/auth/verified-tokens.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';

/** Signature checks made: jose's jwtVerify, counted. */
const checks = vi.hoisted(() => ({ count: 0 }));
vi.mock('jose', async (importOriginal) => {
  const jose = await importOriginal<typeof Jose>();
  return {
    ...jose,
    jwtVerify: (...args: Parameters<typeof jose.jwtVerify>) => {
      checks.count++;
      return jose.jwtVerify(...args);
    },
  };
});

const subject = { userId: 7, role: 'CUSTOMER', tokenVersion: 1 } as const;

function service(lifetimeSeconds = 900) {
  const clock = new ManualClock('2026-12-06T03:00:00.000Z');
  const privateKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { clock, tokens: new JoseAccessTokens({ signingKey: parseSigningKey(privateKey), lifetimeSeconds, clock }) };
}

/** Signature checks made by `work`. */
async function checksIn(work: () => Promise<unknown>): Promise<number> {
  const before = checks.count;
  await work();
  return checks.count - before;
}

describe('JoseAccessTokens: a token seen before', () => {
  it('has its signature checked once, then is taken by its text until a minute has passed', async () => {
    const { clock, tokens } = service();
    const token = await tokens.issue(subject);

    await expect(checksIn(() => tokens.verify(token))).resolves.toBe(1);
    for (let i = 0; i < 3; i++) {
      clock.advance(19_000);
      await expect(checksIn(() => tokens.verify(token))).resolves.toBe(0);
    }
    await expect(tokens.verify(token)).resolves.toEqual({ issuedBy: 'SELF', ...subject });
    clock.advance(3_000);
    await expect(checksIn(() => tokens.verify(token))).resolves.toBe(1);
  });

  it('is refused once past its expiry, however recently it was checked', async () => {
    const { clock, tokens } = service(20);
    const token = await tokens.issue(subject);
    await expect(tokens.verify(token)).resolves.toEqual({ issuedBy: 'SELF', ...subject });

    // exp plus the five seconds of tolerance for other machines' clocks.
    clock.advance(25_000);

    await expect(tokens.verify(token)).resolves.toBeUndefined();
  });

  it('is checked every time while it fails: a refusal is not remembered', async () => {
    const { tokens } = service();
    const [header, payload, signature] = (await tokens.issue(subject)).split('.');
    const tampered = `${header}.${payload}.${signature!.slice(0, -2)}${signature!.endsWith('AA') ? 'BB' : 'AA'}`;

    await expect(checksIn(() => tokens.verify(tampered))).resolves.toBe(1);
    await expect(checksIn(() => tokens.verify(tampered))).resolves.toBe(1);
    await expect(tokens.verify(tampered)).resolves.toBeUndefined();
  });
});

describe('VerifiedTokens', () => {
  const verified = { issuedBy: 'SELF', ...subject } as const;

  it('holds at most its capacity, dropping the longest remembered first', () => {
    const remembered = new VerifiedTokens(2);
    remembered.remember('a', verified, 0, 10_000);
    remembered.remember('b', verified, 0, 10_000);
    remembered.remember('c', verified, 0, 10_000);

    expect(['a', 'b', 'c'].map((token) => remembered.get(token, 1) !== undefined)).toEqual([false, true, true]);
  });

  it('does not remember a token longer than MAX_REMEMBERED_LENGTH, so its bytes stay bounded', () => {
    const remembered = new VerifiedTokens();
    const longest = 'x'.repeat(MAX_REMEMBERED_LENGTH);
    remembered.remember(longest, verified, 0, 10_000);
    remembered.remember(`${longest}x`, verified, 0, 10_000);

    expect(remembered.get(longest, 1)).toEqual(verified);
    expect(remembered.get(`${longest}x`, 1)).toBeUndefined();
  });

  it('forgets a token at its expiry or its maximum age, whichever comes first', () => {
    const remembered = new VerifiedTokens(10, 1_000);
    remembered.remember('expires first', verified, 0, 500);
    remembered.remember('ages first', verified, 0, 5_000);

    expect(remembered.get('expires first', 499)).toEqual(verified);
    expect(remembered.get('expires first', 500)).toBeUndefined();
    expect(remembered.get('ages first', 999)).toEqual(verified);
    expect(remembered.get('ages first', 1_000)).toBeUndefined();
  });
});
