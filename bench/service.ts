import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { startServiceProcess } from '../tests/support/service-process.js';

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
  const { origin, child, exited } = await startServiceProcess({
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: String(poolSize),
  });
  return {
    origin,
    pid: child.pid!,
    peakMemoryMiB: () => {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return match ? Number(match[1]) / 1024 : Number.NaN;
    },
    stop: async () => {
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
