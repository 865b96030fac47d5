import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';

/** `npm start` as a user runs it: no DATABASE_URL, so an embedded PostgreSQL in a data directory. */
const home = path.join(tmpdir(), `shop-process-${process.pid}-${Date.now()}`);
const dataDir = path.join(home, 'postgres');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function start(port: number, pgPort: number): Promise<{ child: ChildProcess; exited: Promise<number | null>; origin: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', EMBEDDED_PG_PORT: String(pgPort), EMBEDDED_PG_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const origin = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${origin}/ready`)).ok) return { child, exited, origin };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error('the service did not become ready within 30 s');
}

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('the service process on its embedded database', () => {
  it('seeds a demo shop, keeps its data across a restart, and stops cleanly on SIGTERM', async () => {
    await mkdir(home, { recursive: true });
    const [port, pgPort] = [await freePort(), await freePort()];

    const startedAt = performance.now();
    const first = await start(port, pgPort);
    const coldStartMs = performance.now() - startedAt;
    console.log(`cold start (new data directory) to ready: ${coldStartMs.toFixed(0)} ms`);

    const products = (await (await fetch(`${first.origin}/api/v1/products`)).json()) as { items: unknown[] };
    expect(products.items.length).toBeGreaterThan(0);
    const charge = await fetch(`${first.origin}/api/v1/users/1/balance/charge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 777 }),
    });
    expect(charge.status).toBe(200);
    const balanceAfterCharge = ((await charge.json()) as { balance: number }).balance;

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);

    const restartedAt = performance.now();
    const second = await start(port, pgPort);
    console.log(`warm start (existing data directory) to ready: ${(performance.now() - restartedAt).toFixed(0)} ms`);
    const balance = (await (await fetch(`${second.origin}/api/v1/users/1/balance`)).json()) as { balance: number };
    expect(balance.balance).toBe(balanceAfterCharge);
    const again = (await (await fetch(`${second.origin}/api/v1/products?limit=100`)).json()) as { items: unknown[] };
    expect(again.items).toHaveLength(products.items.length);

    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });
});
