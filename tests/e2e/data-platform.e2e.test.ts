import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { Receiver } from '../integration/data-platform/receiver.js';
import { createUser, expectProblem, useTestApp } from '../support/test-app.js';

const t = useTestApp();

interface DeliveryBody {
  eventId: string;
  orderId: number;
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

async function placeOrder(inject: (options: { method: 'POST'; url: string; payload: object }) => Promise<{ statusCode: number; json: <T>() => T }>, userId: number) {
  const product = await inject({ method: 'POST', url: '/api/v1/admin/products', payload: { name: 'Lamp', price: 1_000, stock: 100 } });
  expect(product.statusCode).toBe(201);
  expect((await inject({ method: 'POST', url: `/api/v1/users/${userId}/balance/charge`, payload: { amount: 10_000 } })).statusCode).toBe(200);
  const order = await inject({ method: 'POST', url: '/api/v1/orders', payload: { userId, items: [{ productId: product.json<{ id: number }>().id, quantity: 2 }] } });
  expect(order.statusCode).toBe(201);
  return order.json<{ orderId: number }>().orderId;
}

describe('the data platform administration', () => {
  it('shows a paid order PENDING, retries it, and refuses a delivered or unknown one', async () => {
    const inject = (options: { method: 'POST'; url: string; payload: object }) => t.app.inject(options);
    const orderId = await placeOrder(inject, await createUser(t.app));

    const listed = await t.app.inject({ method: 'GET', url: '/api/v1/admin/data-platform/deliveries?status=PENDING' });
    expect(listed.statusCode).toBe(200);
    const delivery = listed.json<{ items: DeliveryBody[] }>().items.find((item) => item.orderId === orderId)!;
    expect(delivery).toMatchObject({ status: 'PENDING', attempts: 0, lastError: null, deliveredAt: null, nextAttemptAt: expect.any(String) });

    const retried = await t.app.inject({ method: 'POST', url: `/api/v1/admin/data-platform/deliveries/${delivery.eventId}/retry` });
    expect(retried.statusCode).toBe(202);
    expect(retried.json()).toMatchObject({ eventId: delivery.eventId, status: 'PENDING', attempts: 0 });

    await sql`UPDATE data_platform_outbox SET status = 'DELIVERED', delivered_at = now() WHERE event_id = ${delivery.eventId}`.execute(t.database.db);
    expectProblem(await t.app.inject({ method: 'POST', url: `/api/v1/admin/data-platform/deliveries/${delivery.eventId}/retry` }), 409, 'ALREADY_DELIVERED');
    expectProblem(await t.app.inject({ method: 'POST', url: '/api/v1/admin/data-platform/deliveries/5e0c1a52-7f0e-4e7b-9b0f-3d6c2a1b4f00/retry' }), 404, 'DELIVERY_NOT_FOUND');
    expectProblem(await t.app.inject({ method: 'POST', url: '/api/v1/admin/data-platform/deliveries/42/retry' }), 400, 'INVALID_REQUEST');
  });
});

const home = path.join(tmpdir(), `shop-dp-${process.pid}-${Date.now()}`);
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

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

describe('the service process', () => {
  it('sends a paid order to DATA_PLATFORM_URL within a second of the commit', async () => {
    await mkdir(home, { recursive: true });
    const receiver = await new Receiver().start();
    const [port, pgPort] = [await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      EMBEDDED_PG_PORT: String(pgPort),
      EMBEDDED_PG_DATA_DIR: path.join(home, 'postgres'),
      LOG_LEVEL: 'warn',
      DATA_PLATFORM_URL: receiver.url,
    };
    delete env.DATABASE_URL;
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const origin = `http://127.0.0.1:${port}`;
    try {
      for (let i = 0; ; i++) {
        if (i > 300) throw new Error('not ready');
        try {
          if ((await fetch(`${origin}/ready`)).ok) break;
        } catch {
          // not yet
        }
        await sleep(100);
      }
      const inject = async (options: { method: 'POST'; url: string; payload: object }) => {
        const response = await fetch(`${origin}${options.url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(options.payload) });
        const body: unknown = await response.json();
        return { statusCode: response.status, json: <T>() => body as T };
      };
      const user = await inject({ method: 'POST', url: '/api/v1/admin/users', payload: { name: 'buyer' } });
      // The demo seed's orders may be sent too; only ours is awaited.
      const before = receiver.requests.length;
      const orderId = await placeOrder(inject, user.json<{ id: number }>().id);
      const placedAt = performance.now();
      while (!receiver.requests.some((request) => (JSON.parse(request.body) as { orderId: number }).orderId === orderId)) {
        if (performance.now() - placedAt > 1_000) throw new Error('not delivered within 1 s');
        await sleep(10);
      }
      expect(receiver.requests.length).toBeGreaterThan(before);
      const list = (await (await fetch(`${origin}/api/v1/admin/data-platform/deliveries?status=DELIVERED&limit=100`)).json()) as { items: DeliveryBody[] };
      await sleep(100);
      const again = (await (await fetch(`${origin}/api/v1/admin/data-platform/deliveries?status=DELIVERED&limit=100`)).json()) as { items: DeliveryBody[] };
      expect([...list.items, ...again.items].some((item) => item.orderId === orderId)).toBe(true);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await receiver.stop();
    }
  });
});
