import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { freePort } from '../tests/support/service-process.js';

export interface RunningService {
  readonly origin: string;
  readonly pid: number;
  /** Peak resident memory so far (VmHWM), in MiB. */
  peakMemoryMiB(): number;
  stop(): Promise<void>;
}

export interface HttpResult {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** Starts `src/main.ts` as its own process, as `npm start` would, against the given database. */
export async function startService(databaseUrl: string, poolSize: number): Promise<RunningService> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATABASE_POOL_SIZE: String(poolSize) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const origin = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`the service exited with code ${child.exitCode} during start-up`);
    try {
      if ((await fetch(`${origin}/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (attempt > 300) throw new Error('the service did not become ready within 30 s');
    await sleep(100);
  }
  return {
    origin,
    pid: child.pid!,
    peakMemoryMiB: () => {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return match ? Number(match[1]) / 1024 : Number.NaN;
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** An HTTP client with one keep-alive connection per concurrent caller. */
export function httpClient(origin: string, connections: number) {
  const pool = new Pool(origin, { connections, pipelining: 1 });
  return {
    async request(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<HttpResult> {
      try {
        const response = await pool.request({
          method,
          path,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
      } catch (error) {
        return { status: 0, body: { code: 'NETWORK_ERROR', detail: String(error) } };
      }
    },
    close: () => pool.close(),
  };
}

export type HttpClient = ReturnType<typeof httpClient>;
