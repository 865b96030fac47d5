import { isIP } from 'node:net';
import { z } from 'zod';
import { isEmailAddress } from './domain/account/credentials.js';
import { DEFAULT_CLIENT_RATE_LIMIT_PER_MINUTE } from './domain/account/client-rate-limit.js';
import { DEFAULT_RETRY_POLICY } from './domain/data-platform/delivery.js';
import { WEBHOOK_SECRET_FORMAT, isWebhookSecret } from './adapters/data-platform/webhook-signer.js';

/** Defaults of the variables below that createContainer applies too, when its caller leaves them out. */
export const DEFAULT_TIME_ZONE = 'Asia/Seoul';
export const DEFAULT_ACCESS_TOKEN_TTL_S = 900;
export const DEFAULT_REFRESH_TOKEN_TTL_S = 30 * 86_400;
export const DEFAULT_DATA_PLATFORM_TIMEOUT_MS = 5_000;
/** The database bounds of DATABASE_STATEMENT_TIMEOUT_MS, DATABASE_LOCK_TIMEOUT_MS and DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS. */
export const DEFAULT_SESSION_LIMITS = {
  statementTimeoutMs: 15_000,
  lockTimeoutMs: 10_000,
  idleInTransactionTimeoutMs: 60_000,
} as const;

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** `https://shop.example.com`: scheme, host and port, nothing else. */
function isOrigin(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === text;
}

const origin = z.string().refine(isOrigin, 'must be an origin such as https://shop.example.com');

/** Where an identity provider's keys may come from: https, or http on this machine's loopback. */
function isKeySetUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  return url.protocol === 'https:' || (url.protocol === 'http:' && loopback);
}

/** The names proxy-addr (Fastify's trustProxy) gives the private and loopback ranges. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** `10.0.0.7`, `10.0.0.0/8`, `fd00::/8` or a range name: what Fastify's trustProxy takes as one proxy. */
function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY: a hop count (the client is the address that many proxies back in X-Forwarded-For), or the
 * proxies' addresses and CIDRs. Never "trust every hop": any client could then name its own address.
 */
const trustProxy = z.string().transform((text, ctx): number | string[] => {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const hops = Number(trimmed);
    if (hops >= 1 && hops <= 10) return hops;
    ctx.addIssue({ code: 'custom', message: 'a hop count must be 1 to 10 (unset TRUST_PROXY to trust no proxy)' });
    return z.NEVER;
  }
  const entries = trimmed
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const bad = entries.filter((entry) => !isProxyAddress(entry));
  if (entries.length > 0 && bad.length === 0) return entries;
  ctx.addIssue({
    code: 'custom',
    message:
      `must be a hop count or a comma-separated list of proxy addresses or CIDRs` +
      (bad.length > 0 ? `; not one: ${bad.join(', ')}` : ''),
  });
  return z.NEVER;
});

/** Variables whose values are never printed, not even when they are wrong. */
const SECRETS = new Set([
  'AUTH_SIGNING_KEY',
  'ADMIN_PASSWORD',
  'DATABASE_URL',
  'DATABASE_REPLICA_URLS',
  'DATA_PLATFORM_SECRET',
  'DATA_PLATFORM_PREVIOUS_SECRETS',
]);

/** A Standard Webhooks secret; the message says what one looks like and how to make one, never what was given. */
const webhookSecret = z
  .string()
  .refine(isWebhookSecret, `must be ${WEBHOOK_SECRET_FORMAT}; make one with: echo "whsec_$(openssl rand -base64 32)"`);

const schema = z
  .object({
    PORT: integer(0, 65_535).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional()
      .describe('unset: an embedded PostgreSQL under .data/'),
    DATABASE_REPLICA_URLS: z
      .string()
      .optional()
      .transform((text) =>
        (text ?? '')
          .split(',')
          .map((url) => url.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(/^postgres(ql)?:\/\//, 'each must be a postgres:// or postgresql:// URL')))
      .describe('comma-separated streaming replicas of DATABASE_URL, for the catalog reads'),
    // Below the popular products' 5-second bound, which includes it.
    DATABASE_REPLICA_MAX_LAG_MS: integer(0, 4_000).default(1_000),
    DATABASE_POOL_SIZE: integer(1, 500).default(20),
    DATABASE_POOL_TIMEOUT_MS: integer(100, 120_000).default(5_000),
    DATABASE_PREPARED_STATEMENTS: z
      .enum(['true', 'false'])
      .optional()
      .describe('the hot statements sent prepared; unset: true on the embedded server, false on DATABASE_URL'),
    EMBEDDED_PG_PORT: integer(1, 65_535).default(54_329),
    EMBEDDED_PG_DATA_DIR: z.string().min(1).default('.data/postgres'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    SHOP_TIMEZONE: z
      .string()
      .refine(isTimeZone, 'must be an IANA time zone such as Asia/Seoul')
      .default(DEFAULT_TIME_ZONE),
    DATA_PLATFORM_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    DATA_PLATFORM_MAX_ATTEMPTS: integer(1, 100).default(DEFAULT_RETRY_POLICY.maxAttempts),
    DATA_PLATFORM_TIMEOUT_MS: integer(100, 60_000).default(DEFAULT_DATA_PLATFORM_TIMEOUT_MS),
    DATA_PLATFORM_BACKOFF_BASE_MS: integer(10, 600_000).default(DEFAULT_RETRY_POLICY.baseMs),
    DATA_PLATFORM_BACKOFF_CAP_MS: integer(10, 3_600_000).default(DEFAULT_RETRY_POLICY.capMs),
    DATA_PLATFORM_CONCURRENCY: integer(1, 100).default(8),
    DATA_PLATFORM_SECRET: webhookSecret
      .optional()
      .describe('signs every delivery; required with DATABASE_URL and DATA_PLATFORM_URL, else made under .data/'),
    DATA_PLATFORM_PREVIOUS_SECRETS: z
      .string()
      .optional()
      .transform((text) =>
        (text ?? '')
          .split(',')
          .map((secret) => secret.trim())
          .filter(Boolean),
      )
      .pipe(z.array(webhookSecret))
      .describe('comma-separated secrets that sign every delivery too, after the current one (a rotation)'),
    SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default(10_000),
    HTTP_REQUEST_TIMEOUT_MS: integer(1_000, 600_000).default(30_000),
    HTTP_CONNECTION_TIMEOUT_MS: integer(1_000, 3_600_000).default(75_000),
    DATABASE_STATEMENT_TIMEOUT_MS: integer(100, 3_600_000).default(DEFAULT_SESSION_LIMITS.statementTimeoutMs),
    DATABASE_LOCK_TIMEOUT_MS: integer(100, 3_600_000).default(DEFAULT_SESSION_LIMITS.lockTimeoutMs),
    DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: integer(1_000, 3_600_000).default(
      DEFAULT_SESSION_LIMITS.idleInTransactionTimeoutMs,
    ),
    AUTH_SIGNING_KEY: z
      .string()
      .optional()
      .describe('PKCS#8 PEM, Ed25519 or P-256; unset on the embedded default: made under .data/'),
    AUTH_VERIFY_KEYS: z.string().optional().describe('SPKI PEM public keys still trusted (the previous signing key)'),
    AUTH_ACCESS_TOKEN_TTL_S: integer(60, 86_400).default(DEFAULT_ACCESS_TOKEN_TTL_S),
    AUTH_REFRESH_TOKEN_TTL_S: integer(300, 365 * 86_400).default(DEFAULT_REFRESH_TOKEN_TTL_S),
    AUTH_JWKS_URL: z
      .string()
      .refine(
        isKeySetUrl,
        'must be an https:// URL (plain http:// only on loopback): whoever serves the keys can mint tokens',
      )
      .optional(),
    AUTH_ISSUER: z.string().min(1).optional(),
    AUTH_AUDIENCE: z.string().min(1).optional(),
    AUTH_ADMIN_CLAIM: z.string().min(1).default('roles'),
    AUTH_ADMIN_ROLE: z.string().min(1).default('shop-admin'),
    AUTH_ACCESS_TOKEN_CLAIM: z
      .string()
      .regex(/^[^=]+=.+$/s, 'must be a claim and the value that marks an access token, name=value (typ=Bearer)')
      .transform((pair) => ({ name: pair.slice(0, pair.indexOf('=')), value: pair.slice(pair.indexOf('=') + 1) }))
      .optional()
      .describe("unset: the provider's access tokens are told by their JOSE header typ at+jwt (RFC 9068)"),
    AUTH_RATE_LIMIT_PER_MINUTE: integer(1, 1_000_000).default(DEFAULT_CLIENT_RATE_LIMIT_PER_MINUTE),
    TRUST_PROXY: trustProxy
      .optional()
      .describe('a hop count, or the proxies whose X-Forwarded-For names the client; unset: no proxy trusted'),
    ADMIN_EMAIL: z.string().refine(isEmailAddress, 'must be an email address').optional(),
    ADMIN_PASSWORD: z.string().min(8).max(128).optional(),
    CORS_ORIGINS: z
      .string()
      .transform((list) =>
        list
          .split(',')
          .map((entry) => entry.trim())
          .filter(Boolean),
      )
      .pipe(z.array(origin))
      .default([])
      .describe('comma-separated origins a browser may call the API from; unset: none'),
  })
  .superRefine((config, ctx) => {
    const external = [config.AUTH_JWKS_URL, config.AUTH_ISSUER, config.AUTH_AUDIENCE].filter((v) => v !== undefined);
    if (external.length !== 0 && external.length !== 3)
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_JWKS_URL'],
        message: 'AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE go together: set all three or none',
      });
    if ((config.ADMIN_EMAIL === undefined) !== (config.ADMIN_PASSWORD === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['ADMIN_EMAIL'],
        message: 'ADMIN_EMAIL and ADMIN_PASSWORD go together: set both or neither',
      });
  });

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((line) => `  ${line}`).join('\n')}`);
  }
}

/** Reads the environment once. An empty variable counts as unset. Every bad value is reported, one line each. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(given);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const value = SECRETS.has(name) ? '<redacted>' : JSON.stringify(env[name]);
      return `${issue.path.join('.')}=${value}: ${issue.message}`;
    }),
  );
}
