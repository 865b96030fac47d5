import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';
/** Standard (not URL-safe) base64 with its padding, as Standard Webhooks secrets are written. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

/** What a secret must look like, for messages that must never show the secret itself. */
export const WEBHOOK_SECRET_FORMAT = `whsec_ followed by the base64 of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} random bytes`;

/** The key a `whsec_<base64>` secret stands for; undefined when it is not one (24 to 64 bytes). */
function keyOf(secret: string): Buffer | undefined {
  if (!secret.startsWith(PREFIX)) return undefined;
  const encoded = secret.slice(PREFIX.length);
  if (!BASE64.test(encoded)) return undefined;
  const key = Buffer.from(encoded, 'base64');
  return key.length >= MIN_KEY_BYTES && key.length <= MAX_KEY_BYTES ? key : undefined;
}

export function isWebhookSecret(secret: string): boolean {
  return keyOf(secret) !== undefined;
}

/** A new secret of 32 random bytes, `whsec_<base64>`. */
export function newWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The Standard Webhooks headers of one attempt. */
export interface WebhookHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/**
 * Signs as Standard Webhooks 1.0 says, scheme v1: HMAC-SHA256 of `{id}.{timestamp}.{body}` under each secret,
 * `v1,<base64>`, space-separated, the current secret first and then the previous ones, so that a receiver that
 * holds any of them accepts the message while it rotates. The keys are private fields: neither a log line nor
 * JSON of this object shows them, and no message it throws names a secret.
 */
export class WebhookSigner {
  readonly #keys: readonly Buffer[];

  /** `secrets`: the current one first, then the previous ones; each `whsec_<base64>`. */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('a webhook signer needs at least one secret');
    this.#keys = secrets.map((secret, index) => {
      const key = keyOf(secret);
      if (!key) throw new Error(`webhook secret ${index + 1} of ${secrets.length} is not ${WEBHOOK_SECRET_FORMAT}`);
      return key;
    });
  }

  /** The `webhook-signature` value for the message `id` sent at `timestampS` (Unix seconds) with exactly `body`. */
  signature(id: string, timestampS: number, body: Buffer): string {
    return this.#keys
      .map((key) => `v1,${createHmac('sha256', key).update(`${id}.${timestampS}.`).update(body).digest('base64')}`)
      .join(' ');
  }

  /** The three headers of an attempt at `at` that sends exactly `body`. */
  headers(id: string, at: Date, body: Buffer): WebhookHeaders {
    const timestampS = Math.floor(at.getTime() / 1000);
    return {
      'webhook-id': id,
      'webhook-timestamp': String(timestampS),
      'webhook-signature': this.signature(id, timestampS, body),
    };
  }
}
