import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ServiceProcess,
  freePort,
  logIn,
  startOnEmbedded,
  startServiceProcess,
} from '../support/service-process.js';

/** `npm start` as a user runs it: no DATABASE_URL, so an embedded PostgreSQL in a data directory. */
const home = path.join(tmpdir(), `shop-process-${process.pid}-${Date.now()}`);
const dataDir = path.join(home, 'postgres');
/** The demo accounts' shared password, which the first start writes beside the data directory. */
const demoPassword = () => readFileSync(path.join(home, 'demo-password'), 'utf8').trim();

function start(pgPort: number): Promise<ServiceProcess> {
  return startOnEmbedded(dataDir, pgPort);
}

/** A demo customer, logged in: their id and token. */
async function minji(service: ServiceProcess): Promise<{ id: number; token: string }> {
  const session = await logIn(service.origin, { email: 'minji@shop.test', password: demoPassword() });
  return { id: session.account.id, token: session.accessToken };
}

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('the service process on its embedded database', () => {
  it('seeds a demo shop, keeps its data across a restart, and stops cleanly on SIGTERM', async () => {
    await mkdir(home, { recursive: true });
    const pgPort = await freePort();

    const startedAt = performance.now();
    const first = await start(pgPort);
    const coldStartMs = performance.now() - startedAt;
    console.log(`cold start (new data directory) to ready: ${coldStartMs.toFixed(0)} ms`);

    const products = (await first.request<{ items: unknown[] }>('GET', '/api/v1/products', undefined, null)).body;
    expect(products.items.length).toBeGreaterThan(0);
    const customer = await minji(first);
    const charge = await first.request<{ balance: number }>(
      'POST',
      `/api/v1/users/${customer.id}/balance/charge`,
      { amount: 777 },
      customer.token,
    );
    expect(charge.status).toBe(200);
    const balanceAfterCharge = charge.body.balance;

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);

    const restartedAt = performance.now();
    const second = await start(pgPort);
    console.log(`warm start (existing data directory) to ready: ${(performance.now() - restartedAt).toFixed(0)} ms`);
    const { token } = await minji(second);
    const balance = (
      await second.request<{ balance: number }>('GET', `/api/v1/users/${customer.id}/balance`, undefined, token)
    ).body;
    expect(balance.balance).toBe(balanceAfterCharge);
    const again = (await second.request<{ items: unknown[] }>('GET', '/api/v1/products?limit=100', undefined, null))
      .body;
    expect(again.items).toHaveLength(products.items.length);

    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('seeds the demo shop even when ADMIN_EMAIL names an administrator too, and that administrator can log in', async () => {
    const otherHome = path.join(home, 'with-admin');
    await mkdir(otherHome, { recursive: true });
    const admin = { email: 'ops@shop.test', password: 'ops-password-1234' };
    const service = await startServiceProcess(
      {
        DATABASE_URL: undefined,
        EMBEDDED_PG_PORT: String(await freePort()),
        EMBEDDED_PG_DATA_DIR: path.join(otherHome, 'postgres'),
        AUTH_SIGNING_KEY: undefined,
        ADMIN_EMAIL: admin.email,
        ADMIN_PASSWORD: admin.password,
      },
      { admin: () => admin },
    );
    try {
      const products = (await service.request<{ items: unknown[] }>('GET', '/api/v1/products', undefined, null)).body;
      expect(products.items.length).toBeGreaterThan(0);
      const password = readFileSync(path.join(otherHome, 'demo-password'), 'utf8').trim();
      const demo = await logIn(service.origin, { email: 'minji@shop.test', password });
      expect(demo.account.role).toBe('CUSTOMER');
      const ops = await logIn(service.origin, admin);
      expect(ops.account.role).toBe('ADMIN');
    } finally {
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    }
  });

  it('refuses to start on DATABASE_URL without AUTH_SIGNING_KEY, in one line, before it touches the database', async () => {
    // Nothing listens on port 1: had the service connected (or migrated) first, it would fail on that instead.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, DATABASE_URL: 'postgres://shop@127.0.0.1:1/shop', AUTH_SIGNING_KEY: '', PORT: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/AUTH_SIGNING_KEY is required with DATABASE_URL/);
    expect(stderr).not.toMatch(/ECONNREFUSED|stack|at /);
  });
});
