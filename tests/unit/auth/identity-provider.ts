import { type KeyObject, generateKeyPairSync } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type JWTPayload, SignJWT, exportJWK } from 'jose';
import type { ExternalIssuer } from '../../../src/adapters/auth/jose-access-tokens.js';

export const IDP_ISSUER = 'https://idp.test.example/realms/shop';
export const IDP_AUDIENCE = 'shop-api';
export const IDP_KID = 'idp-rsa-1';

export interface TestIdentityProvider {
  /** What `auth.external` of the container gets. */
  readonly external: ExternalIssuer;
  /** The provider's RSA key, whose public half its JWK Set serves. */
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** How many times the JWK Set was fetched. */
  readonly fetches: () => number;
  /**
   * An RS256 access token of this provider for `sub` (typ at+jwt, RFC 9068), valid for 5 minutes from `now`;
   * `claims` override any claim, `typ` the header's (undefined: none).
   */
  token(now: Date, sub: string, claims?: JWTPayload, header?: { typ?: string | undefined }): Promise<string>;
  close(): Promise<void>;
}

/** An identity provider's JWK Set on 127.0.0.1 (an ephemeral port), and a way to sign its tokens. */
export async function startIdentityProvider(): Promise<TestIdentityProvider> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...(await exportJWK(publicKey)), kid: IDP_KID, alg: 'RS256', use: 'sig' };
  let fetches = 0;
  const server: Server = createServer((request, response) => {
    fetches += 1;
    if (request.url !== '/jwks.json') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    external: {
      jwksUrl: new URL(`http://127.0.0.1:${port}/jwks.json`),
      issuer: IDP_ISSUER,
      audience: IDP_AUDIENCE,
      adminClaim: 'roles',
      adminRole: 'shop-admin',
    },
    privateKey,
    publicKey,
    fetches: () => fetches,
    token(now, sub, claims = {}, { typ }: { typ?: string | undefined } = { typ: 'at+jwt' }) {
      const iat = Math.floor(now.getTime() / 1000);
      return new SignJWT({ iss: IDP_ISSUER, aud: IDP_AUDIENCE, sub, iat, exp: iat + 300, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: IDP_KID, ...(typ === undefined ? {} : { typ }) })
        .sign(privateKey);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
