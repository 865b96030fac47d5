import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';

describe('loadConfig', () => {
  it('fills in the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      PORT: 3000,
      HOST: '0.0.0.0',
      DATABASE_REPLICA_URLS: [],
      DATABASE_REPLICA_MAX_LAG_MS: 1_000,
      DATABASE_POOL_SIZE: 20,
      DATABASE_POOL_TIMEOUT_MS: 5_000,
      EMBEDDED_PG_PORT: 54_329,
      EMBEDDED_PG_DATA_DIR: '.data/postgres',
      LOG_LEVEL: 'info',
      SHOP_TIMEZONE: 'Asia/Seoul',
      DATA_PLATFORM_MAX_ATTEMPTS: 10,
      DATA_PLATFORM_TIMEOUT_MS: 5_000,
      DATA_PLATFORM_BACKOFF_BASE_MS: 1_000,
      DATA_PLATFORM_BACKOFF_CAP_MS: 60_000,
      DATA_PLATFORM_CONCURRENCY: 8,
      DATA_PLATFORM_PREVIOUS_SECRETS: [],
      SHUTDOWN_TIMEOUT_MS: 10_000,
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      HTTP_CONNECTION_TIMEOUT_MS: 75_000,
      DATABASE_STATEMENT_TIMEOUT_MS: 15_000,
      DATABASE_LOCK_TIMEOUT_MS: 10_000,
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: 60_000,
      AUTH_ACCESS_TOKEN_TTL_S: 900,
      AUTH_REFRESH_TOKEN_TTL_S: 2_592_000,
      AUTH_ADMIN_CLAIM: 'roles',
      AUTH_ADMIN_ROLE: 'shop-admin',
      AUTH_RATE_LIMIT_PER_MINUTE: 60,
      CORS_ORIGINS: [],
    });
  });

  it('reads given values and treats an empty variable as unset', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://u:p@db:5432/shop',
      SHOP_TIMEZONE: 'Europe/Paris',
      LOG_LEVEL: '',
    });
    expect(config).toMatchObject({
      PORT: 8080,
      DATABASE_URL: 'postgres://u:p@db:5432/shop',
      SHOP_TIMEZONE: 'Europe/Paris',
      LOG_LEVEL: 'info',
    });
  });

  it('reports every bad value, one line each, naming the variable and what it got', () => {
    const load = () =>
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        SHOP_TIMEZONE: 'Mars/Olympus',
        DATA_PLATFORM_URL: 'ftp://x',
        LOG_LEVEL: 'loud',
      });
    expect(load).toThrow(ConfigError);
    try {
      load();
    } catch (error) {
      const problems = (error as ConfigError).problems;
      expect(problems).toHaveLength(5);
      expect(problems.map((line) => line.split('=')[0])).toEqual(
        expect.arrayContaining(['PORT', 'DATABASE_URL', 'SHOP_TIMEZONE', 'DATA_PLATFORM_URL', 'LOG_LEVEL']),
      );
      expect(problems.find((line) => line.startsWith('PORT='))).toContain('"eighty"');
    }
  });

  it('never prints a secret, not even a wrong one', () => {
    const problems = problemsOf({
      DATABASE_URL: 'mysql://admin:hunter2@db/shop',
      ADMIN_EMAIL: 'ops@shop.test',
      ADMIN_PASSWORD: 'short',
    });
    expect(problems.join('\n')).not.toMatch(/hunter2|short/);
    expect(problems.filter((line) => line.includes('<redacted>')).map((line) => line.split('=')[0])).toEqual(
      expect.arrayContaining(['DATABASE_URL', 'ADMIN_PASSWORD']),
    );
  });

  it('takes CORS_ORIGINS as a comma-separated list of origins', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://shop.example, http://localhost:5173' }).CORS_ORIGINS).toEqual([
      'https://shop.example',
      'http://localhost:5173',
    ]);
    expect(problemsOf({ CORS_ORIGINS: 'https://shop.example/path' })).toHaveLength(1);
    expect(problemsOf({ CORS_ORIGINS: '*' })).toHaveLength(1);
  });

  it('wants the identity provider’s three settings together, and the admin’s two', () => {
    expect(problemsOf({ AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_ISSUER: 'https://idp.example' })).toEqual([
      expect.stringContaining('AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE go together'),
    ]);
    expect(problemsOf({ ADMIN_EMAIL: 'ops@shop.test' })).toEqual([
      expect.stringContaining('ADMIN_EMAIL and ADMIN_PASSWORD go together'),
    ]);
    expect(
      loadConfig({
        AUTH_JWKS_URL: 'https://idp.example/jwks',
        AUTH_ISSUER: 'https://idp.example',
        AUTH_AUDIENCE: 'shop',
        ADMIN_EMAIL: 'ops@shop.test',
        ADMIN_PASSWORD: 'long enough',
      }),
    ).toMatchObject({ AUTH_AUDIENCE: 'shop', AUTH_ADMIN_CLAIM: 'roles', AUTH_ADMIN_ROLE: 'shop-admin' });
  });
});

describe('the read replicas', () => {
  it('takes DATABASE_REPLICA_URLS as a comma-separated list of postgres URLs, none when unset', () => {
    expect(loadConfig({}).DATABASE_REPLICA_URLS).toEqual([]);
    expect(
      loadConfig({ DATABASE_REPLICA_URLS: 'postgres://shop:pw@replica-1:5432/shop' }).DATABASE_REPLICA_URLS,
    ).toEqual(['postgres://shop:pw@replica-1:5432/shop']);
    expect(
      loadConfig({
        DATABASE_REPLICA_URLS: ' postgres://shop:pw@replica-1/shop ,postgresql://shop:pw@replica-2:6432/shop, ',
      }).DATABASE_REPLICA_URLS,
    ).toEqual(['postgres://shop:pw@replica-1/shop', 'postgresql://shop:pw@replica-2:6432/shop']);
  });

  it('refuses a replica URL that is not postgres://, saying so without printing it (it holds a password)', () => {
    const problems = problemsOf({
      DATABASE_REPLICA_URLS: 'postgres://shop:pw@replica-1/shop,mysql://shop:hunter2@replica-2/shop',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^DATABASE_REPLICA_URLS\.1=<redacted>: .*postgres:\/\/ or postgresql:\/\/ URL$/),
    ]);
    expect(problems.join('\n')).not.toMatch(/hunter2|replica-2|mysql/);
  });

  it('takes DATABASE_REPLICA_MAX_LAG_MS from 0 to 4000 (below the popular products’ 5-second bound), 1000 unset', () => {
    expect(loadConfig({}).DATABASE_REPLICA_MAX_LAG_MS).toBe(1_000);
    expect(loadConfig({ DATABASE_REPLICA_MAX_LAG_MS: '4000' }).DATABASE_REPLICA_MAX_LAG_MS).toBe(4_000);
    expect(loadConfig({ DATABASE_REPLICA_MAX_LAG_MS: '0' }).DATABASE_REPLICA_MAX_LAG_MS).toBe(0);
    for (const bad of ['4001', '-1', '1.5', 'soon'])
      expect(problemsOf({ DATABASE_REPLICA_MAX_LAG_MS: bad }), bad).toEqual([
        expect.stringMatching(new RegExp(`^DATABASE_REPLICA_MAX_LAG_MS=${JSON.stringify(bad)}: `)),
      ]);
  });
});

describe('the limits per client address', () => {
  it('takes AUTH_RATE_LIMIT_PER_MINUTE as a positive whole number', () => {
    expect(loadConfig({ AUTH_RATE_LIMIT_PER_MINUTE: '600' }).AUTH_RATE_LIMIT_PER_MINUTE).toBe(600);
    for (const bad of ['0', '-1', '1.5', 'many'])
      expect(problemsOf({ AUTH_RATE_LIMIT_PER_MINUTE: bad }), bad).toEqual([
        expect.stringMatching(new RegExp(`^AUTH_RATE_LIMIT_PER_MINUTE=${JSON.stringify(bad)}: `)),
      ]);
  });

  it('takes TRUST_PROXY as a hop count or a list of proxy addresses and CIDRs', () => {
    expect(loadConfig({}).TRUST_PROXY).toBeUndefined();
    expect(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ TRUST_PROXY: ' 10.0.0.7, 10.1.0.0/16,fd00::/8, ::1, loopback ' }).TRUST_PROXY).toEqual([
      '10.0.0.7',
      '10.1.0.0/16',
      'fd00::/8',
      '::1',
      'loopback',
    ]);
  });

  it('refuses a TRUST_PROXY it cannot read, or one that trusts every hop, in one line that names the bad entries', () => {
    for (const bad of ['0', '11', 'true', '*', ','])
      expect(problemsOf({ TRUST_PROXY: bad }), bad).toEqual([
        expect.stringMatching(new RegExp(`^TRUST_PROXY=${JSON.stringify(bad).replace('*', '\\*')}: `)),
      ]);
    expect(problemsOf({ TRUST_PROXY: '10.0.0.7, 10.0.0.0/33, lb.internal, 300.1.1.1' })).toEqual([
      'TRUST_PROXY="10.0.0.7, 10.0.0.0/33, lb.internal, 300.1.1.1": must be a hop count or a comma-separated ' +
        'list of proxy addresses or CIDRs; not one: 10.0.0.0/33, lb.internal, 300.1.1.1',
    ]);
  });
});

describe('the data platform secrets', () => {
  const secret = (bytes: number, fill: number) => `whsec_${Buffer.alloc(bytes, fill).toString('base64')}`;
  const current = secret(32, 0xa1);
  const previous = [secret(24, 0xb2), secret(64, 0xc3)];

  it('takes DATA_PLATFORM_SECRET as whsec_ and the base64 of 24 to 64 bytes, unset by default', () => {
    expect(loadConfig({}).DATA_PLATFORM_SECRET).toBeUndefined();
    expect(loadConfig({ DATA_PLATFORM_SECRET: current }).DATA_PLATFORM_SECRET).toBe(current);
  });

  it('takes DATA_PLATFORM_PREVIOUS_SECRETS as a comma-separated list, trimmed, empty entries dropped', () => {
    expect(loadConfig({}).DATA_PLATFORM_PREVIOUS_SECRETS).toEqual([]);
    expect(
      loadConfig({ DATA_PLATFORM_PREVIOUS_SECRETS: ` ${previous[0]} ,${previous[1]}, ` })
        .DATA_PLATFORM_PREVIOUS_SECRETS,
    ).toEqual(previous);
  });

  it('refuses a malformed secret, saying what one looks like without printing what it got', () => {
    const wrong = ['whsec_hunter2hunter2', 'hunter2' + current.slice(6), secret(16, 0xd4), secret(65, 0xe5)];
    for (const bad of wrong) {
      const problems = problemsOf({ DATA_PLATFORM_SECRET: bad });
      expect(problems, bad).toEqual([
        'DATA_PLATFORM_SECRET=<redacted>: must be whsec_ followed by the base64 of 24 to 64 random bytes; ' +
          'make one with: echo "whsec_$(openssl rand -base64 32)"',
      ]);
    }
    const problems = problemsOf({ DATA_PLATFORM_PREVIOUS_SECRETS: `${previous[0]}, whsec_hunter2hunter2` });
    expect(problems).toEqual([expect.stringMatching(/^DATA_PLATFORM_PREVIOUS_SECRETS\.1=<redacted>: must be whsec_/)]);
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(problems.join('\n')).not.toContain(previous[0]!.slice(6));
  });
});

describe('the identity provider and the first admin', () => {
  const provider = (url: string) => ({ AUTH_JWKS_URL: url, AUTH_ISSUER: 'https://idp.example', AUTH_AUDIENCE: 'shop' });

  it('fetches the key set over https only, or plain http on this machine’s loopback (tests)', () => {
    expect(problemsOf(provider('http://idp.example/jwks'))).toEqual([expect.stringMatching(/^AUTH_JWKS_URL=.*https/)]);
    for (const url of [
      'https://idp.example/jwks',
      'http://127.0.0.1:8080/jwks',
      'http://localhost/jwks',
      'http://[::1]/j',
    ])
      expect(problemsOf(provider(url)), url).toEqual([]);
  });

  it('reads AUTH_ACCESS_TOKEN_CLAIM as name=value, and refuses anything else in one line', () => {
    expect(loadConfig({ AUTH_ACCESS_TOKEN_CLAIM: 'token_use=access' }).AUTH_ACCESS_TOKEN_CLAIM).toEqual({
      name: 'token_use',
      value: 'access',
    });
    // Only the first = separates: a value may hold one.
    expect(loadConfig({ AUTH_ACCESS_TOKEN_CLAIM: 'kind=a=b' }).AUTH_ACCESS_TOKEN_CLAIM).toEqual({
      name: 'kind',
      value: 'a=b',
    });
    for (const bad of ['token_use', '=access', 'token_use=', '='])
      expect(problemsOf({ AUTH_ACCESS_TOKEN_CLAIM: bad }), bad).toEqual([
        expect.stringMatching(/^AUTH_ACCESS_TOKEN_CLAIM=.*name=value/),
      ]);
  });

  it('wants ADMIN_EMAIL to be an email address', () => {
    expect(problemsOf({ ADMIN_EMAIL: 'not an email', ADMIN_PASSWORD: 'long enough' })).toEqual([
      expect.stringMatching(/^ADMIN_EMAIL=/),
    ]);
  });
});

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
