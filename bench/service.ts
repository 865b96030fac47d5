import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { newWebhookSecret } from '../src/adapters/data-platform/webhook-signer.js';
import { TRACING_PRELOAD } from '../src/adapters/tracing/tracing-config.js';
import { processCpuUs } from './cpu.js';

export interface RunningService {
  readonly origin: string;
  readonly pid: number;
  /** CPU time the service's process has used so far, all its threads, in microseconds. */
  cpuUs(): number;
  /** Peak resident memory so far (VmHWM), in MiB. */
  peakMemoryMiB(): number;
  stop(): Promise<void>;
}

export interface HttpResult {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

function freePort(): Promise<number> {
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

/**
 * Variables of the caller's environment the service must not see: the bench's tokens are the only ones it
 * should accept (no extra verification keys, no identity provider), and the bench names its own admin.
 */
const NOT_INHERITED = ['AUTH_VERIFY_KEYS', 'AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE', 'CORS_ORIGINS'];

/**
 * Starts `src/main.ts` as its own process, as `npm start` would, against the given database, with `env`
 * (the signing key and the admin's credentials) on top; resolves once /ready answers. (The bench's own
 * starter, not the tests' helper: it runs with the bench's key and admin and logs nobody in itself.)
 */
export async function startService(
  databaseUrl: string,
  poolSize: number,
  env: Record<string, string>,
): Promise<RunningService> {
  const port = await freePort();
  const platform = await startDataPlatform();
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !NOT_INHERITED.includes(name)));
  // BENCH_CPU_PROFILE=<dir>: the service writes a V8 CPU profile of the whole run there when it stops.
  const profile = process.env.BENCH_CPU_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`]
    : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', '--import', TRACING_PRELOAD, 'src/main.ts'], {
    env: {
      ...inherited,
      // Every client of the bench is 127.0.0.1, and the login scenario signs up and logs in thousands of
      // times a minute: the per-address limit would measure itself instead of the service.
      AUTH_RATE_LIMIT_PER_MINUTE: '1000000',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: String(poolSize),
      // The bench's server is PostgreSQL itself, no pooler between.
      DATABASE_PREPARED_STATEMENTS: 'true',
      // A service on its own database delivers only with a platform to deliver to; the bench's answers 204.
      DATA_PLATFORM_URL: platform.url,
      DATA_PLATFORM_SECRET: newWebhookSecret(),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const origin = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode} during start-up`);
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
  return {
    origin,
    pid: child.pid!,
    cpuUs: () => processCpuUs(child.pid!),
    peakMemoryMiB: () => {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return match ? Number(match[1]) / 1024 : Number.NaN;
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      await platform.close();
    },
  };
}

/** A data platform on loopback that takes every event (204), so the relay does its real work during a run. */
async function startDataPlatform(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createHttpServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(204).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Answers the bench never expects from a request it sends with the right token. */
export interface AuthRefusals {
  /** 401: no token, or one the service did not accept. */
  readonly unauthenticated: number;
  /** 403: a token that may not act for the user named, or a customer on an admin route. */
  readonly forbidden: number;
}

/**
 * An HTTP client with one keep-alive connection per concurrent caller. `token` goes out as
 * `Authorization: Bearer <token>`; every 401 and 403 it receives is counted, so the run can say that no
 * request was refused for its token.
 */
export function httpClient(origin: string, connections: number) {
  const pool = new Pool(origin, { connections, pipelining: 1 });
  let unauthenticated = 0;
  let forbidden = 0;
  return {
    async request(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, token?: string): Promise<HttpResult> {
      try {
        const response = await pool.request({
          method,
          path,
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        if (response.statusCode === 401) unauthenticated++;
        if (response.statusCode === 403) forbidden++;
        const text = await response.body.text();
        return { status: response.statusCode, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
      } catch (error) {
        return { status: 0, body: { code: 'NETWORK_ERROR', detail: String(error) } };
      }
    },
    refusals: (): AuthRefusals => ({ unauthenticated, forbidden }),
    close: () => pool.close(),
  };
}

export type HttpClient = ReturnType<typeof httpClient>;
