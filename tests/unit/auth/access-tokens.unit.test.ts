import { type KeyObject, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { type JWTPayload, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { JoseAccessTokens, OWN_AUDIENCE, OWN_ISSUER } from '../../../src/adapters/auth/jose-access-tokens.js';
import {
  KeyError,
  type SigningKey,
  newSigningKeyPem,
  parseSigningKey,
  parseVerifyKeys,
} from '../../../src/adapters/auth/signing-keys.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';

const START = '2026-11-24T03:00:00.000Z';
const LIFETIME_S = 900;
/** The verifier's allowance for clocks that differ (CLOCK_TOLERANCE_S in the adapter). */
const TOLERANCE_S = 5;
const subject = { userId: 42, role: 'CUSTOMER', tokenVersion: 3 } as const;

const pkcs8 = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }).toString();
const spki = (key: KeyObject) => createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
const ed25519 = () => generateKeyPairSync('ed25519').privateKey;
const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

function service(
  options: { signingKey?: SigningKey; verifyKeys?: KeyObject[]; clock?: ManualClock; lifetimeSeconds?: number } = {},
) {
  const signingKey = options.signingKey ?? parseSigningKey(pkcs8(ed25519()));
  const clock = options.clock ?? new ManualClock(START);
  const tokens = new JoseAccessTokens({
    signingKey,
    verifyKeys: options.verifyKeys ?? [],
    lifetimeSeconds: options.lifetimeSeconds ?? LIFETIME_S,
    clock,
  });
  return { tokens, clock, signingKey };
}

/** A token with every claim our own have, signed by `key` with `kid`, then `overrides` applied on top. */
function craft(
  key: KeyObject | Uint8Array,
  { alg = 'EdDSA', kid, claims = {} }: { alg?: string; kid: string; claims?: JWTPayload },
  now = seconds(new Date(START)),
): Promise<string> {
  return new SignJWT({ role: 'CUSTOMER', ver: 3, ...claims })
    .setProtectedHeader({ alg, kid, typ: 'JWT' })
    .setIssuer(claims.iss ?? OWN_ISSUER)
    .setAudience((claims.aud as string | undefined) ?? OWN_AUDIENCE)
    .setSubject(claims.sub ?? '42')
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + LIFETIME_S)
    .setJti(claims.jti ?? 'a-jti')
    .sign(key);
}

async function kidOf(tokens: JoseAccessTokens): Promise<string> {
  const [key] = (await tokens.jwks()).keys;
  return key!.kid!;
}

describe('JoseAccessTokens: what an issued token says', () => {
  it('verifies to the subject it was issued for', async () => {
    const { tokens } = service();
    const token = await tokens.issue(subject);
    await expect(tokens.verify(token)).resolves.toEqual({ issuedBy: 'SELF', ...subject });
    expect(tokens.lifetimeSeconds).toBe(LIFETIME_S);
  });

  it('carries iss, aud, sub as a string, iat, exp = iat + lifetime, a fresh jti and the kid of a published key', async () => {
    const { tokens, clock } = service();
    const first = await tokens.issue(subject);
    const second = await tokens.issue(subject);

    const claims = decodeJwt(first);
    expect(claims).toEqual({
      iss: OWN_ISSUER,
      aud: OWN_AUDIENCE,
      sub: '42',
      iat: seconds(clock.now()),
      exp: seconds(clock.now()) + LIFETIME_S,
      jti: expect.any(String),
      role: 'CUSTOMER',
      ver: 3,
    });
    expect(claims.jti).not.toBe(decodeJwt(second).jti);
    expect(claims.jti!.length).toBeGreaterThanOrEqual(16);

    const header = decodeProtectedHeader(first);
    expect(header).toEqual({ alg: 'EdDSA', kid: expect.any(String), typ: 'JWT' });
    const jwks = await tokens.jwks();
    expect(jwks.keys.map((key) => key.kid)).toEqual([header.kid]);
    // Only the public part is published.
    expect(jwks.keys[0]).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: expect.any(String),
      kid: header.kid,
      alg: 'EdDSA',
      use: 'sig',
    });
  });

  it('signs with ES256 when the key is P-256, and the key set says so', async () => {
    const { tokens } = service({ signingKey: parseSigningKey(pkcs8(p256())) });
    const token = await tokens.issue({ userId: 7, role: 'ADMIN', tokenVersion: 0 });
    expect(decodeProtectedHeader(token).alg).toBe('ES256');
    await expect(tokens.verify(token)).resolves.toEqual({
      issuedBy: 'SELF',
      userId: 7,
      role: 'ADMIN',
      tokenVersion: 0,
    });
    const [key] = (await tokens.jwks()).keys;
    expect(key).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      alg: 'ES256',
      use: 'sig',
      kid: decodeProtectedHeader(token).kid,
    });
    expect(key).not.toHaveProperty('d');
  });

  it('a token of the Ed25519 service is refused by a P-256 one and the other way round', async () => {
    const ed = service();
    const ec = service({ signingKey: parseSigningKey(pkcs8(p256())) });
    await expect(ec.tokens.verify(await ed.tokens.issue(subject))).resolves.toBeUndefined();
    await expect(ed.tokens.verify(await ec.tokens.issue(subject))).resolves.toBeUndefined();
  });
});

describe('JoseAccessTokens: what is refused', () => {
  it('refuses a token past exp once the tolerance has passed, and accepts it within the tolerance', async () => {
    const { tokens, clock } = service();
    const token = await tokens.issue(subject);
    clock.advance((LIFETIME_S + TOLERANCE_S - 1) * 1000);
    await expect(tokens.verify(token)).resolves.toEqual({ issuedBy: 'SELF', ...subject });
    clock.advance(2_000);
    await expect(tokens.verify(token)).resolves.toBeUndefined();
  });

  it('refuses a token that is not yet valid (nbf in the future), signed with the right key', async () => {
    const { tokens, signingKey } = service();
    const kid = await kidOf(tokens);
    const now = seconds(new Date(START));
    const early = await craft(signingKey.privateKey, { kid, claims: { nbf: now + 60 } });
    await expect(tokens.verify(early)).resolves.toBeUndefined();
    // The same token with nbf now is fine: only the nbf made the difference.
    await expect(tokens.verify(await craft(signingKey.privateKey, { kid, claims: { nbf: now } }))).resolves.toEqual({
      issuedBy: 'SELF',
      ...subject,
    });
  });

  it.each([
    ['another issuer', { iss: 'urn:somebody-else' }],
    ['another audience', { aud: 'urn:shop-backend:admin' }],
    ['a sub that is not a user id', { sub: 'ana' }],
    ['a sub of zero', { sub: '0' }],
    ['an unknown role', { role: 'ROOT' }],
    ['no token version', { ver: undefined }],
    ['a token version that is not an integer', { ver: '3' }],
  ])('refuses %s, although signed with the right key', async (_case, claims: JWTPayload) => {
    const { tokens, signingKey } = service();
    const kid = await kidOf(tokens);
    const good = await craft(signingKey.privateKey, { kid });
    await expect(tokens.verify(good)).resolves.toEqual({ issuedBy: 'SELF', ...subject });
    await expect(tokens.verify(await craft(signingKey.privateKey, { kid, claims }))).resolves.toBeUndefined();
  });

  it('refuses a token with no jti', async () => {
    const { tokens, signingKey } = service();
    const kid = await kidOf(tokens);
    const now = seconds(new Date(START));
    const noJti = await new SignJWT({ role: 'CUSTOMER', ver: 3 })
      .setProtectedHeader({ alg: 'EdDSA', kid })
      .setIssuer(OWN_ISSUER)
      .setAudience(OWN_AUDIENCE)
      .setSubject('42')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(signingKey.privateKey);
    await expect(tokens.verify(noJti)).resolves.toBeUndefined();
  });

  it('refuses a tampered payload (role raised to ADMIN, signature kept)', async () => {
    const { tokens } = service();
    const [header, payload, signature] = (await tokens.issue(subject)).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as JWTPayload;
    const forged = `${header}.${b64url({ ...claims, role: 'ADMIN' })}.${signature}`;
    await expect(tokens.verify(forged)).resolves.toBeUndefined();
  });

  it('refuses a tampered signature', async () => {
    const { tokens } = service();
    const token = await tokens.issue(subject);
    const [header, payload, signature] = token.split('.');
    // A character in the middle: every one of its bits is part of the signature.
    const middle = Math.floor(signature!.length / 2);
    const flipped = signature![middle] === 'A' ? 'B' : 'A';
    const tampered = `${header}.${payload}.${signature!.slice(0, middle)}${flipped}${signature!.slice(middle + 1)}`;
    expect(tampered).not.toBe(token);
    await expect(tokens.verify(tampered)).resolves.toBeUndefined();
    await expect(tokens.verify(`${header}.${payload}.`)).resolves.toBeUndefined();
  });

  it('refuses a token signed by another key, whether its kid is unknown or borrowed from ours', async () => {
    const { tokens } = service();
    const kid = await kidOf(tokens);
    const stranger = ed25519();
    await expect(tokens.verify(await craft(stranger, { kid: 'not-in-the-set' }))).resolves.toBeUndefined();
    await expect(tokens.verify(await craft(stranger, { kid }))).resolves.toBeUndefined();
  });

  it('refuses alg none', async () => {
    const { tokens } = service();
    const kid = await kidOf(tokens);
    const claims = decodeJwt(await tokens.issue(subject));
    for (const alg of ['none', 'None', 'NONE']) {
      const unsigned = `${b64url({ alg, kid, typ: 'JWT' })}.${b64url(claims)}.`;
      await expect(tokens.verify(unsigned)).resolves.toBeUndefined();
    }
  });

  it('refuses HS256 signed with the public key as the HMAC secret (key confusion)', async () => {
    for (const signingKey of [parseSigningKey(pkcs8(ed25519())), parseSigningKey(pkcs8(p256()))]) {
      const { tokens } = service({ signingKey });
      const kid = await kidOf(tokens);
      const [jwk] = (await tokens.jwks()).keys;
      const secrets = [
        new TextEncoder().encode(spki(signingKey.privateKey)),
        new Uint8Array(createPublicKey(signingKey.privateKey).export({ type: 'spki', format: 'der' })),
        new TextEncoder().encode(JSON.stringify(jwk)),
      ];
      for (const secret of secrets) {
        const confused = await craft(secret, { alg: 'HS256', kid });
        expect(decodeProtectedHeader(confused).alg).toBe('HS256');
        await expect(tokens.verify(confused)).resolves.toBeUndefined();
      }
    }
  });

  it.each(['', 'abc', 'a.b.c', '..', 'Bearer x', `${b64url({ alg: 'EdDSA' })}.${b64url('not an object')}.sig`])(
    'answers undefined for the garbage %j, never throws',
    async (garbage) => {
      const { tokens } = service();
      await expect(tokens.verify(garbage)).resolves.toBeUndefined();
    },
  );
});

describe('JoseAccessTokens: key rotation (AUTH_VERIFY_KEYS)', () => {
  it('accepts a token signed by a previous key listed in the verify keys, not one of a random key', async () => {
    const previousKey = ed25519();
    const previous = service({ signingKey: parseSigningKey(pkcs8(previousKey)) });
    const oldToken = await previous.tokens.issue(subject);
    const randomToken = await service().tokens.issue(subject);

    const rotated = service({ verifyKeys: parseVerifyKeys(spki(previousKey)) });
    await expect(rotated.tokens.verify(oldToken)).resolves.toEqual({ issuedBy: 'SELF', ...subject });
    await expect(rotated.tokens.verify(randomToken)).resolves.toBeUndefined();
    await expect(rotated.tokens.verify(await rotated.tokens.issue(subject))).resolves.toEqual({
      issuedBy: 'SELF',
      ...subject,
    });
    // Without the verify key the old token means nothing.
    await expect(service().tokens.verify(oldToken)).resolves.toBeUndefined();

    // Both keys are published, the signing key first; new tokens carry the new key's kid.
    const kids = (await rotated.tokens.jwks()).keys.map((key) => key.kid);
    expect(kids).toEqual([
      decodeProtectedHeader(await rotated.tokens.issue(subject)).kid,
      await kidOf(previous.tokens),
    ]);
  });

  it('accepts a previous P-256 key beside an Ed25519 signing key', async () => {
    const previousKey = p256();
    const oldToken = await service({ signingKey: parseSigningKey(pkcs8(previousKey)) }).tokens.issue(subject);
    const rotated = service({ verifyKeys: parseVerifyKeys(spki(previousKey)) });
    await expect(rotated.tokens.verify(oldToken)).resolves.toEqual({ issuedBy: 'SELF', ...subject });
  });

  it('publishes the signing key once when it is also listed as a verify key', async () => {
    const key = ed25519();
    const { tokens } = service({ signingKey: parseSigningKey(pkcs8(key)), verifyKeys: parseVerifyKeys(spki(key)) });
    expect((await tokens.jwks()).keys).toHaveLength(1);
  });
});

describe('signing keys', () => {
  it('reads Ed25519 and P-256 PKCS#8 keys, also with literal \\n as environments carry them', () => {
    expect(parseSigningKey(pkcs8(ed25519())).algorithm).toBe('EdDSA');
    expect(parseSigningKey(pkcs8(p256())).algorithm).toBe('ES256');
    const oneLine = pkcs8(p256()).trim().replaceAll('\n', '\\n');
    expect(oneLine).not.toContain('\n');
    expect(parseSigningKey(oneLine).algorithm).toBe('ES256');
    expect(parseSigningKey(newSigningKeyPem()).algorithm).toBe('EdDSA');
  });

  it.each([
    ['an RSA key', () => pkcs8(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)],
    ['a P-384 key', () => pkcs8(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey)],
    ['an Ed448 key', () => pkcs8(generateKeyPairSync('ed448').privateKey)],
    ['an SPKI public key', () => spki(ed25519())],
    ['a SEC1 EC private key', () => p256().export({ type: 'sec1', format: 'pem' }).toString()],
    ['garbage', () => 'not a key at all'],
    ['an empty string', () => ''],
    ['a PEM frame around garbage', () => '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n'],
  ])('refuses %s as a signing key', (_case, pem) => {
    expect(() => parseSigningKey(pem())).toThrow(KeyError);
  });

  it('reads concatenated SPKI blocks as verify keys, in order', () => {
    const keys = [ed25519(), p256(), ed25519()];
    const pems = keys.map(spki).join('');
    const parsed = parseVerifyKeys(pems);
    expect(parsed.map((key) => key.asymmetricKeyType)).toEqual(['ed25519', 'ec', 'ed25519']);
    parsed.forEach((key, i) => expect(key.equals(createPublicKey(keys[i]!))).toBe(true));
    expect(parseVerifyKeys(pems.replaceAll('\n', '\\n'))).toHaveLength(3);
  });

  it.each([
    ['no block', 'nothing here'],
    ['an RSA public key', spki(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)],
    ['a block of garbage', '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----'],
  ])('refuses %s as verify keys', (_case, pems) => {
    expect(() => parseVerifyKeys(pems)).toThrow(KeyError);
  });
});
