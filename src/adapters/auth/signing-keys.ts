import { type KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';

/** The JWS algorithms this service signs with; the key decides which. */
export type SigningAlgorithm = 'EdDSA' | 'ES256';

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly algorithm: SigningAlgorithm;
}

export class KeyError extends Error {}

function algorithmOf(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new KeyError(`a ${key.asymmetricKeyType ?? 'symmetric'} key; only Ed25519 and P-256 (ES256) are accepted`);
}

const PEM_LABEL = /^-----BEGIN ([A-Z0-9 ]+)-----/;

/** Environments often carry a PEM on one line with literal \n. */
const unescaped = (pem: string) => pem.replaceAll('\\n', '\n').trim();

/** A PKCS#8 PEM private key, Ed25519 or P-256. */
export function parseSigningKey(pem: string): SigningKey {
  const text = unescaped(pem);
  // PKCS#8 is the PEM labelled plain "PRIVATE KEY" (RFC 7468); "EC PRIVATE KEY" and the like are other formats.
  const label = PEM_LABEL.exec(text)?.[1];
  if (label !== 'PRIVATE KEY')
    throw new KeyError(`not a PKCS#8 PEM private key (its PEM label is ${label ? `"${label}"` : 'missing'})`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: text, format: 'pem' });
  } catch {
    throw new KeyError('not a readable PKCS#8 PEM private key');
  }
  return { privateKey, algorithm: algorithmOf(privateKey) };
}

const PEM_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g;

/** One or more SPKI PEM public keys, concatenated: older signing keys, still trusted during a rotation. */
export function parseVerifyKeys(pems: string): KeyObject[] {
  const blocks = unescaped(pems).match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new KeyError('no -----BEGIN PUBLIC KEY----- block');
  return blocks.map((block) => {
    let key: KeyObject;
    try {
      key = createPublicKey({ key: block, format: 'pem' });
    } catch {
      throw new KeyError('a public key block that cannot be read');
    }
    algorithmOf(key);
    return key;
  });
}

/** A new Ed25519 signing key, as PKCS#8 PEM. */
export function newSigningKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
