import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { JoseAccessTokens } from '../../src/adapters/auth/jose-access-tokens.js';
import { newSigningKeyPem, parseSigningKey } from '../../src/adapters/auth/signing-keys.js';
import { DEMO_ADMIN_EMAIL } from '../../src/adapters/seed/demo-shop.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import type { Role } from '../../src/domain/user/user.js';
import { TRACING_PRELOAD } from '../../src/adapters/tracing/tracing-config.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

// ---------- the credentials of the service processes this test process starts ----------

/**
 * One signing key for every service process started from this test process: instances that share a database
 * must share it (API.md, "Authentication and authorization"), and a process started again on the same
 * database keeps accepting the tokens signed before.
 */
const SIGNING_KEY_PEM = newSigningKeyPem();

/** The administrator every service process creates at start (ADMIN_EMAIL, ADMIN_PASSWORD). */
export const SERVICE_ADMIN = { email: 'admin@service-tests.invalid', password: 'service-admin-password' } as const;

/**
 * The secret every service process started from this test process signs its deliveries with (required with
 * DATABASE_URL and DATA_PLATFORM_URL): a receiver may verify them with it. Fixed, and a test's alone.
 */
export const TEST_DATA_PLATFORM_SECRET = `whsec_${Buffer.from('service-tests data platform secret!!').toString('base64')}`;

/**
 * What a service process started by a test needs to authenticate, and to sign what it delivers: the shared
 * key, the administrator, the data platform secret.
 */
export const SERVICE_AUTH_ENV = {
  AUTH_SIGNING_KEY: SIGNING_KEY_PEM,
  ADMIN_EMAIL: SERVICE_ADMIN.email,
  ADMIN_PASSWORD: SERVICE_ADMIN.password,
  DATA_PLATFORM_SECRET: TEST_DATA_PLATFORM_SECRET,
} as const;

const signer = new JoseAccessTokens({
  signingKey: parseSigningKey(SIGNING_KEY_PEM),
  lifetimeSeconds: 900,
  clock: systemClock,
});

/**
 * An access token for an existing user of a service process started with SERVICE_AUTH_ENV, signed here with
 * the shared key as a login would issue it (without logging in thousands of users through Argon2id). The
 * user's token version must be `tokenVersion` (0 until the user logs out everywhere).
 */
export function signedAccessToken(userId: number, role: Role = 'CUSTOMER', tokenVersion = 0): Promise<string> {
  return signer.issue({ userId, role, tokenVersion });
}

export interface LoggedIn {
  readonly accessToken: string;
  readonly account: { readonly id: number; readonly email: string | null; readonly role: Role };
}

/** POST /api/v1/auth/login on a running service; fails unless it answers 200. */
export async function logIn(origin: string, credentials: { email: string; password: string }): Promise<LoggedIn> {
  const response = await fetch(`${origin}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(credentials),
  });
  const text = await response.text();
  if (response.status !== 200)
    throw new Error(`logging in as ${credentials.email} answered ${response.status} ${text}`);
  return JSON.parse(text) as LoggedIn;
}

// ---------- a service process ----------

export interface ServiceProcess {
  readonly origin: string;
  readonly child: ChildProcess;
  /** The exit code, once the process has ended. */
  readonly exited: Promise<number | null>;
  /** The administrator's access token, logged in once the service was ready. */
  readonly adminToken: string;
  /** The same token: a ServiceProcess is an Api (builders.ts) acting as the administrator. */
  readonly token: string;
  /** An access token for one of this service's users (see `signedAccessToken`); only with SERVICE_AUTH_ENV. */
  tokenFor(userId: number, role?: Role): Promise<string>;
  /**
   * A JSON request to the service; the answer's status and parsed body. It carries the administrator's token
   * unless `token` says otherwise: another token, or null for none (the public routes).
   */
  request<T = Record<string, unknown>>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    token?: string | null,
  ): Promise<{ status: number; body: T }>;
}

export interface ServiceProcessOptions {
  /**
   * Who `adminToken` logs in as, read once the service is ready. Default: SERVICE_ADMIN, whom SERVICE_AUTH_ENV
   * makes the service create (an embedded demo instead seeds its own admin, with its password in a file).
   */
  readonly admin?: () => { email: string; password: string };
  /**
   * Runs the service as the leader of a process group of its own, as a shell runs a foreground job, so that
   * `process.kill(-child.pid, signal)` is what the terminal's Ctrl-C does: the signal reaches every process
   * in that group at once.
   */
  readonly ownProcessGroup?: boolean;
  /**
   * True: launched by `npm start` itself, through npm and the shell it runs the script in; `child` is then npm.
   * False (the default): the start script's command alone, one process.
   */
  readonly viaNpmStart?: boolean;
}

/**
 * `src/main.ts` in a process of its own, as `npm start` runs it, with SERVICE_AUTH_ENV and then `env` over the
 * current environment (a value of undefined removes the variable). Resolves once /ready answers and the
 * administrator has logged in.
 */
export async function startServiceProcess(
  env: Record<string, string | undefined>,
  { admin = () => SERVICE_ADMIN, ownProcessGroup = false, viaNpmStart = false }: ServiceProcessOptions = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const merged: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...SERVICE_AUTH_ENV,
  };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete merged[name];
    else merged[name] = value;
  }
  const [command, args] = viaNpmStart
    ? ['npm', ['start', '--silent']]
    : [process.execPath, ['--import', 'tsx', '--import', TRACING_PRELOAD, 'src/main.ts']];
  const child = spawn(command, args, {
    env: merged,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: ownProcessGroup,
  });
  // Passed through as before, and its end kept so that a failed start says why.
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const origin = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) {
      throw new Error(`the service exited with ${child.exitCode} during start-up; its stderr ended:\n${stderrTail}`);
    }
    try {
      if ((await fetch(`${origin}/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (attempt > 300) {
      child.kill('SIGKILL');
      throw new Error('the service did not become ready within 30 s');
    }
    await sleep(100);
  }
  let adminToken: string;
  try {
    adminToken = (await logIn(origin, admin())).accessToken;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const sharesTheKey = merged.AUTH_SIGNING_KEY === SIGNING_KEY_PEM;
  return {
    origin,
    child,
    exited,
    adminToken,
    token: adminToken,
    async tokenFor(userId: number, role?: Role) {
      if (!sharesTheKey) throw new Error('tokenFor needs a service started with SERVICE_AUTH_ENV');
      return signedAccessToken(userId, role);
    },
    async request<T>(method: 'GET' | 'POST', path: string, body?: unknown, token: string | null = adminToken) {
      const headers: Record<string, string> = {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (token !== null) headers.authorization = `Bearer ${token}`;
      const response = await fetch(`${origin}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as T };
    },
  };
}

/**
 * The service on the embedded default in `dataDir`, as `npm start` runs it: its signing key (and, with a
 * DATA_PLATFORM_URL, its data platform secret) made and kept in the secrets directory beside the data, the
 * demo's own accounts; `adminToken` is the demo admin's.
 */
export function startOnEmbedded(
  dataDir: string,
  pgPort: number,
  {
    env = {},
    ...options
  }: Pick<ServiceProcessOptions, 'ownProcessGroup' | 'viaNpmStart'> & { env?: Record<string, string> } = {},
) {
  return startServiceProcess(
    {
      DATABASE_URL: undefined,
      EMBEDDED_PG_PORT: String(pgPort),
      EMBEDDED_PG_DATA_DIR: dataDir,
      AUTH_SIGNING_KEY: undefined,
      ADMIN_EMAIL: undefined,
      ADMIN_PASSWORD: undefined,
      DATA_PLATFORM_SECRET: undefined,
      ...env,
    },
    {
      ...options,
      admin: () => ({
        email: DEMO_ADMIN_EMAIL,
        password: readFileSync(join(dirname(dataDir), 'secrets', 'demo-admin-password'), 'utf8').trim(),
      }),
    },
  );
}
