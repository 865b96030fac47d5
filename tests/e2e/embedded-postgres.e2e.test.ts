import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/adapters/postgres/embedded.js';
import { DEMO_ADMIN_EMAIL } from '../../src/adapters/seed/demo-shop.js';
import { freePort, startServiceProcess } from '../support/service-process.js';

/** Who adopts an embedded server and who stops it: the tools beside `npm start`, and a stale postmaster.pid. */
const home = path.join(tmpdir(), `shop-embedded-${process.pid}-${Date.now()}`);

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

function postmasterPid(dataDir: string): number {
  return Number.parseInt(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `node --import tsx <args>` (a .ts file, or `-e` with an ES module), with `env` over ours: its output and exit code. */
function runNode(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const merged: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete merged[name];
    else merged[name] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    env: merged,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('the embedded PostgreSQL, adopted or started', () => {
  it('`npm run check` beside a running `npm start` adopts its server and leaves it running when it exits', async () => {
    const dataDir = path.join(home, 'service', 'postgres');
    await mkdir(path.dirname(dataDir), { recursive: true });
    const pgPort = await freePort();
    const service = await startServiceProcess(
      {
        DATABASE_URL: undefined,
        EMBEDDED_PG_PORT: String(pgPort),
        EMBEDDED_PG_DATA_DIR: dataDir,
        AUTH_SIGNING_KEY: undefined,
        ADMIN_EMAIL: undefined,
        ADMIN_PASSWORD: undefined,
      },
      {
        admin: () => ({
          email: DEMO_ADMIN_EMAIL,
          password: readFileSync(path.join(path.dirname(dataDir), 'demo-admin-password'), 'utf8').trim(),
        }),
      },
    );
    try {
      const postmaster = postmasterPid(dataDir);
      const check = await runNode(['src/adapters/postgres/check-cli.ts'], {
        DATABASE_URL: undefined,
        EMBEDDED_PG_PORT: String(pgPort),
        EMBEDDED_PG_DATA_DIR: dataDir,
      });
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toMatch(/^OK /m);
      // The check's exit hook signalled the server it adopted, if anything: a fast shutdown takes well under this.
      await sleep(1500);
      expect(isAlive(postmaster)).toBe(true);
      const products = await service.request('GET', '/api/v1/products', undefined, null);
      expect(products.status).toBe(200);
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
  });

  it('a stale postmaster.pid naming an unrelated live process: that process is neither adopted nor signalled, and the server starts', async () => {
    const dataDir = path.join(home, 'stale', 'postgres');
    const port = await freePort();
    // The cluster, created and cleanly stopped.
    await (await startEmbeddedPostgres({ dataDir, port, serverFlags: ['-c', 'fsync=off'] })).stop();
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);

    // After a crash and a reboot, the pid the file names belongs to something else.
    const unrelated: ChildProcess = spawn('sleep', ['60'], { stdio: 'ignore' });
    let unrelatedSignal: NodeJS.Signals | null = null;
    unrelated.once('exit', (_code, signal) => (unrelatedSignal = signal));
    try {
      const pid = unrelated.pid!;
      await writeFile(
        path.join(dataDir, 'postmaster.pid'),
        `${pid}\n${dataDir}\n1700000000\n${port}\n/tmp\n127.0.0.1\n  1234567    123456\nready   \n`,
      );

      // Another process starts the embedded server on that directory, queries it, and exits without stopping
      // it: its exit hook stops what it started, and must not touch the unrelated process.
      const script = `
        import { startEmbeddedPostgres } from './src/adapters/postgres/embedded.ts';
        import pg from 'pg';
        const db = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port} });
        const client = new pg.Client(db.url);
        await client.connect();
        const { rows } = await client.query('SHOW data_directory');
        await client.end();
        console.log(JSON.stringify({ adopted: db.adopted, dataDirectory: rows[0].data_directory }));
        process.exit(0);
      `;
      const run = await runNode(['--input-type=module', '-e', script], {});
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toEqual({ adopted: false, dataDirectory: dataDir });

      // The server that process started was told to stop on exit; the unrelated process was never signalled.
      for (let i = 0; i < 100 && existsSync(path.join(dataDir, 'postmaster.pid')); i++) await sleep(100);
      expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
      expect(unrelatedSignal).toBeNull();
      expect(isAlive(pid)).toBe(true);
    } finally {
      unrelated.kill('SIGKILL');
    }
  });
});
