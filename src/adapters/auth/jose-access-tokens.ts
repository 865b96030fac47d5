import { type KeyObject, createPublicKey, randomUUID } from 'node:crypto';
import {
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  calculateJwkThumbprint,
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  exportJWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { AccessTokenSubject, AccessTokens, VerifiedAccessToken } from '../../application/ports/access-tokens.js';
import type { Clock } from '../../application/ports/clock.js';
import { CONTROL_CHARACTERS } from '../../domain/shared/text.js';
import { ROLES, type Role } from '../../domain/user/user.js';
import type { SigningAlgorithm, SigningKey } from './signing-keys.js';
import { VerifiedTokens } from './verified-tokens.js';

/** Who our own tokens say issued them and whom they are for. */
export const OWN_ISSUER = 'urn:shop-backend';
export const OWN_AUDIENCE = 'urn:shop-backend:api';

/** Our tokens are verified with exactly the algorithms we sign with: never `none`, never an HMAC. */
const OWN_ALGORITHMS: SigningAlgorithm[] = ['EdDSA', 'ES256'];
/** An identity provider's: asymmetric signatures only, so its public keys can't be used as an HMAC secret. */
const EXTERNAL_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** The JOSE header typ of an access token (RFC 9068, 2.1): an ID token says JWT or nothing. */
const ACCESS_TOKEN_TYP = 'at+jwt';
/** Clocks of separate machines differ a little. */
const CLOCK_TOLERANCE_S = 5;

export interface ExternalIssuer {
  readonly jwksUrl: URL;
  readonly issuer: string;
  readonly audience: string;
  /** The claim (an array of strings) that lists the token's roles, and the role that makes it ADMIN. */
  readonly adminClaim: string;
  readonly adminRole: string;
  /**
   * What marks the provider's access tokens, so its ID tokens (same issuer, and the client id as audience)
   * do not pass for them: a claim and its value (Keycloak's typ=Bearer) or, unset, the JOSE header
   * typ at+jwt of RFC 9068.
   */
  readonly accessTokenClaim?: { readonly name: string; readonly value: string } | undefined;
}

export interface JoseAccessTokensOptions {
  readonly signingKey: SigningKey;
  /** Public keys still trusted besides the signing key's own (a rotation's previous key). */
  readonly verifyKeys?: readonly KeyObject[];
  readonly lifetimeSeconds: number;
  readonly external?: ExternalIssuer | undefined;
  readonly clock: Clock;
}

interface PublishedKey {
  readonly jwk: JWK;
  readonly kid: string;
}

async function publish(key: KeyObject, alg: SigningAlgorithm): Promise<PublishedKey> {
  // createPublicKey takes a private KeyObject only; the verify keys are public already.
  const jwk = await exportJWK(key.type === 'private' ? createPublicKey(key) : key);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, jwk: { ...jwk, kid, alg, use: 'sig' } };
}

const algorithmOf = (key: KeyObject): SigningAlgorithm => (key.asymmetricKeyType === 'ed25519' ? 'EdDSA' : 'ES256');

/**
 * Access tokens as JWTs signed with the service's Ed25519 or P-256 key (`kid` = the key's RFC 7638
 * thumbprint), verified against our own key set and, when configured, an identity provider's remote one
 * (jose caches it and refetches at most every 30 s when an unknown `kid` shows up). A token that passed is
 * taken by its text for up to a minute, until its expiry (VerifiedTokens), without checking its signature
 * again.
 */
export class JoseAccessTokens implements AccessTokens {
  readonly lifetimeSeconds: number;
  private readonly ready: Promise<{
    signingKid: string;
    jwks: JSONWebKeySet;
    keySet: ReturnType<typeof createLocalJWKSet>;
  }>;
  private readonly remote;
  private readonly verified = new VerifiedTokens();

  constructor(private readonly options: JoseAccessTokensOptions) {
    this.lifetimeSeconds = options.lifetimeSeconds;
    this.ready = (async () => {
      const signing = await publish(options.signingKey.privateKey, options.signingKey.algorithm);
      const others = await Promise.all((options.verifyKeys ?? []).map((key) => publish(key, algorithmOf(key))));
      const keys = [signing, ...others.filter((other) => other.kid !== signing.kid)].map((key) => key.jwk);
      // Built once: a local key set imports its keys on first use and keeps them.
      return { signingKid: signing.kid, jwks: { keys }, keySet: createLocalJWKSet({ keys }) };
    })();
    this.remote = options.external && createRemoteJWKSet(options.external.jwksUrl);
  }

  /** The public keys, as GET /.well-known/jwks.json publishes them. */
  async jwks(): Promise<JSONWebKeySet> {
    return (await this.ready).jwks;
  }

  async issue({ userId, role, tokenVersion }: AccessTokenSubject): Promise<string> {
    const { signingKid } = await this.ready;
    const now = Math.floor(this.options.clock.now().getTime() / 1000);
    return new SignJWT({ role, ver: tokenVersion })
      .setProtectedHeader({ alg: this.options.signingKey.algorithm, kid: signingKid, typ: 'JWT' })
      .setIssuer(OWN_ISSUER)
      .setAudience(OWN_AUDIENCE)
      .setSubject(String(userId))
      .setIssuedAt(now)
      .setExpirationTime(now + this.lifetimeSeconds)
      .setJti(randomUUID())
      .sign(this.options.signingKey.privateKey);
  }

  async verify(token: string): Promise<VerifiedAccessToken | undefined> {
    const now = this.options.clock.now().getTime();
    const remembered = this.verified.get(token, now);
    if (remembered) return remembered;
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      return undefined;
    }
    let verified: VerifiedAccessToken | undefined;
    try {
      const external = this.options.external;
      if (claims.iss === OWN_ISSUER) verified = await this.verifyOwn(token);
      else if (external && this.remote && claims.iss === external.issuer)
        verified = await this.verifyExternal(token, external);
    } catch {
      // Expired, tampered, an unknown kid, a refused algorithm, the provider's key set unreachable: all refused.
    }
    // Both kinds require exp, so a verified token has one; it is taken until jose would call it expired.
    if (verified) this.verified.remember(token, verified, now, (claims.exp! + CLOCK_TOLERANCE_S) * 1000);
    return verified;
  }

  private async verifyOwn(token: string): Promise<VerifiedAccessToken | undefined> {
    const { keySet } = await this.ready;
    const { payload } = await jwtVerify(token, keySet, {
      issuer: OWN_ISSUER,
      audience: OWN_AUDIENCE,
      algorithms: OWN_ALGORITHMS,
      requiredClaims: ['sub', 'iat', 'exp', 'jti'],
      currentDate: this.options.clock.now(),
      clockTolerance: CLOCK_TOLERANCE_S,
    });
    const userId = /^[1-9][0-9]{0,15}$/.test(payload.sub ?? '') ? Number(payload.sub) : NaN;
    const role = payload.role as Role;
    const tokenVersion = payload.ver;
    if (!Number.isSafeInteger(userId) || !ROLES.includes(role) || !Number.isSafeInteger(tokenVersion)) return undefined;
    return { issuedBy: 'SELF', userId, role, tokenVersion: tokenVersion as number };
  }

  private async verifyExternal(token: string, external: ExternalIssuer): Promise<VerifiedAccessToken | undefined> {
    const { payload } = await jwtVerify(token, this.remote!, {
      issuer: external.issuer,
      audience: external.audience,
      algorithms: EXTERNAL_ALGORITHMS,
      // iat: logout-all refuses the provider's tokens issued before it (jose checks it is a number).
      requiredClaims: ['sub', 'iat', 'exp'],
      // jose compares typ case-insensitively and with or without the application/ prefix, as RFC 9068 asks.
      ...(external.accessTokenClaim ? {} : { typ: ACCESS_TOKEN_TYP }),
      currentDate: this.options.clock.now(),
      clockTolerance: CLOCK_TOLERANCE_S,
    });
    const marker = external.accessTokenClaim;
    if (marker && payload[marker.name] !== marker.value) return undefined;
    // jose checks iat only against a maximum age. One from the future would outlive every logout-all (its iat
    // is after any tokens_not_before); a subject PostgreSQL cannot store (NUL) would answer 500.
    const now = this.options.clock.now().getTime() / 1000;
    if (payload.iat! > now + CLOCK_TOLERANCE_S || CONTROL_CHARACTERS.test(payload.sub!)) return undefined;
    return {
      issuedBy: 'EXTERNAL',
      issuer: external.issuer,
      subject: payload.sub!,
      issuedAt: new Date(payload.iat! * 1000),
      isAdmin: rolesIn(payload, external.adminClaim).includes(external.adminRole),
      ...stringClaim(payload, 'name'),
      ...stringClaim(payload, 'email'),
    };
  }
}

function rolesIn(payload: JWTPayload, claim: string): string[] {
  const value = payload[claim];
  return Array.isArray(value) ? value.filter((role): role is string => typeof role === 'string') : [];
}

function stringClaim<K extends 'name' | 'email'>(payload: JWTPayload, claim: K): Partial<Record<K, string>> {
  const value = payload[claim];
  return typeof value === 'string' ? ({ [claim]: value } as Record<K, string>) : {};
}
