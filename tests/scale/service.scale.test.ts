import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../src/adapters/postgres/database.js';
import {
  type Api,
  aChargedUser,
  aCouponFor,
  aProduct,
  anOrder,
  balanceOf,
  couponsOf,
  historyOf,
  ordersOf,
  stockOf,
} from '../support/builders.js';
import { type ServiceProcess, startServiceProcess } from '../support/service-process.js';
import { type Cluster, startCluster } from './support/cluster.js';
import { eventually } from './support/eventually.js';

/**
 * Two service instances through PgBouncer in transaction mode (its default settings), their catalog reads
 * on a streaming replica (API.md, "Running past one database server").
 */
const MAX_LAG_MS = 1_000;
const STATEMENT_TIMEOUT_MS = 2_000;

/** One series of GET /metrics, or undefined when the scrape has none. */
async function metric(origin: string, name: string, labels: string): Promise<number | undefined> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('two instances through PgBouncer, the catalog read from a replica', () => {
  let cluster: Cluster;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let replica: string;
  const admin = (service: ServiceProcess): Api => ({ origin: service.origin, token: service.adminToken });
  const readsFrom = (service: ServiceProcess, source: string) =>
    metric(service.origin, 'shop_db_catalog_reads_total', `source="${source}"`).then((value) => value ?? 0);
  const lagOf = (service: ServiceProcess) =>
    metric(service.origin, 'shop_db_replica_lag_seconds', `replica="${replica}"`);
  const upOf = (service: ServiceProcess) => metric(service.origin, 'shop_db_replica_up', `replica="${replica}"`);
  const productStatus = async (service: ServiceProcess, productId: number) =>
    (await fetch(`${service.origin}/api/v1/products/${productId}`)).status;

  beforeAll(async () => {
    cluster = await startCluster();
    const { hostname, port } = new URL(cluster.replicaUrl);
    replica = `${hostname}:${port}`;
    const env = {
      DATABASE_URL: cluster.bouncerUrl,
      DATABASE_REPLICA_URLS: cluster.replicaUrl,
      DATABASE_REPLICA_MAX_LAG_MS: String(MAX_LAG_MS),
      DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
      EMBEDDED_PG_DATA_DIR: undefined,
    };
    // One after the other: the first migrates the empty database.
    a = await startServiceProcess(env);
    b = await startServiceProcess(env);
  });

  afterAll(async () => {
    for (const service of [a, b]) {
      if (!service) continue;
      service.child.kill('SIGTERM');
      await service.exited;
    }
    await cluster?.stop();
  });

  it('serves orders, cancellations and coupons across both instances, and the data then checks out', async () => {
    const product = await aProduct(admin(a), { price: 2_000, stock: 50 });
    const buyers = await Promise.all(Array.from({ length: 6 }, () => aChargedUser(admin(b), 100_000)));
    const orders = await Promise.all(
      buyers.map(async (buyer, i) => {
        const copy = i % 2 === 0 ? await aCouponFor(admin(a), buyer.id, { discountValue: 500 }) : undefined;
        const via = i % 2 === 0 ? a : b;
        return anOrder(admin(via), {
          userId: buyer.id,
          items: [{ productId: product.id, quantity: 2 }],
          ...(copy ? { userCouponId: copy.userCouponId } : {}),
        });
      }),
    );
    for (const [i, order] of orders.entries()) {
      const via = i % 2 === 0 ? b : a;
      const response = await fetch(`${via.origin}/api/v1/orders/${order.orderId}/cancel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${via.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(i % 3 === 0 ? {} : { items: [{ productId: product.id, quantity: 1 }] }),
      });
      expect(response.status, await response.clone().text()).toBe(200);
    }

    await cluster.caughtUp();
    const cancelledUnits = orders.reduce((sum, _order, i) => sum + (i % 3 === 0 ? 2 : 1), 0);
    await expect(stockOf(admin(a), product.id)).resolves.toBe(50 - 12 + cancelledUnits);

    const check = spawn(process.execPath, ['--import', 'tsx', 'src/adapters/postgres/check-cli.ts'], {
      env: { ...process.env, DATABASE_URL: cluster.bouncerUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    check.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    check.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => check.once('exit', resolve));
    expect(code, output).toBe(0);
  });

  it('signs up and logs in on one instance, and is known on the other', async () => {
    const email = `scale-${Date.now()}@example.com`;
    const signUp = await fetch(`${a.origin}/api/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'a long enough password', name: 'Scale' }),
    });
    expect(signUp.status, await signUp.clone().text()).toBe(201);
    const login = await fetch(`${b.origin}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'a long enough password' }),
    });
    expect(login.status).toBe(200);
    const { accessToken, account } = (await login.json()) as { accessToken: string; account: { id: number } };
    await expect(balanceOf({ origin: a.origin, token: accessToken }, account.id)).resolves.toBe(0);
  });

  it('keeps the statement timeout in force through the pooler, in a transaction and outside one', async () => {
    // A transaction as the service's pool begins one: its bounds travel with its BEGIN.
    const pooled = createDb({ url: cluster.bouncerUrl, poolSize: 1, limits: { statementTimeoutMs: 300 } });
    try {
      await expect(pooled.transaction().execute((trx) => sql`SELECT pg_sleep(1)`.execute(trx))).rejects.toMatchObject({
        code: '57014',
      });
    } finally {
      await pooled.destroy();
    }
    // Outside a transaction: the role's defaults the service wrote, which every server session started since
    // begins with (those PgBouncer opened before keep the server's settings until it replaces them). So the
    // statement goes on a session PgBouncer opens now: the ones it has are held, each in a transaction.
    const held: pg.Client[] = [];
    try {
      let fresh: pg.Client | undefined;
      for (let i = 0; i < 10 && !fresh; i++) {
        const client = new pg.Client({ connectionString: cluster.bouncerUrl });
        client.on('error', () => undefined);
        await client.connect();
        held.push(client);
        await client.query('BEGIN');
        const { rows } = await client.query<{ value: string }>(`SELECT current_setting('statement_timeout') AS value`);
        if (rows[0]?.value === `${STATEMENT_TIMEOUT_MS / 1000}s`) fresh = client;
      }
      expect(fresh, 'PgBouncer opened a server session after the service started').toBeDefined();
      const { rows } = await fresh!.query<{ value: string }>(`SELECT current_setting('lock_timeout') AS value`);
      expect(rows[0]?.value).toBe('10s');
      const started = Date.now();
      await expect(fresh!.query('SELECT pg_sleep(5)')).rejects.toMatchObject({ code: '57014' });
      expect(Date.now() - started).toBeLessThan(STATEMENT_TIMEOUT_MS + 2_000);
    } finally {
      await Promise.all(held.map((client) => client.end().catch(() => undefined)));
    }
  });

  it('reads the catalog from the replica while it keeps up, from the primary once it falls behind, and back', async () => {
    const product = await aProduct(admin(a));
    await cluster.caughtUp();
    // Up to date: the catalog reads go to the replica.
    const before = await readsFrom(b, replica);
    expect(await eventually(10_000, async () => (await productStatus(b, product.id)) === 200)).toBe(true);
    await expect(readsFrom(b, replica)).resolves.toBeGreaterThan(before);

    await cluster.pauseReplay();
    try {
      const late = await aProduct(admin(a), { name: 'made while the replica is paused' });
      // Past the bound, the primary answers: the product is found, from either instance.
      await sleep(MAX_LAG_MS + 500);
      for (const service of [a, b]) {
        expect(await eventually(5_000, async () => (await productStatus(service, late.id)) === 200)).toBe(true);
        await expect(lagOf(service)).resolves.toBeGreaterThan(MAX_LAG_MS / 1000);
      }
      const fromReplica = await readsFrom(b, replica);
      const fromPrimary = await readsFrom(b, 'primary');
      await expect(productStatus(b, product.id)).resolves.toBe(200);
      await expect(readsFrom(b, replica)).resolves.toBe(fromReplica);
      await expect(readsFrom(b, 'primary')).resolves.toBeGreaterThan(fromPrimary);
    } finally {
      await cluster.resumeReplay();
    }
    await cluster.caughtUp();
    const resumed = await readsFrom(b, replica);
    expect(
      await eventually(10_000, async () => {
        await productStatus(b, product.id);
        return (await readsFrom(b, replica)) > resumed;
      }),
    ).toBe(true);
  });

  it("shows a user's own writes at once while the replica is paused: charge, order, cancellation", async () => {
    const product = await aProduct(admin(a), { price: 1_000, stock: 10 });
    const buyer = await aChargedUser(admin(a), 5_000);
    await cluster.caughtUp();
    await cluster.pauseReplay();
    try {
      const api = admin(b);
      await fetch(`${a.origin}/api/v1/users/${buyer.id}/balance/charge`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ amount: 1_000 }),
      });
      await expect(balanceOf(api, buyer.id)).resolves.toBe(6_000);
      const copy = await aCouponFor(admin(a), buyer.id, { discountValue: 100 });
      await expect(couponsOf(api, buyer.id)).resolves.toMatchObject([
        { userCouponId: copy.userCouponId, status: 'AVAILABLE' },
      ]);
      const order = await anOrder(admin(a), {
        userId: buyer.id,
        items: [{ productId: product.id, quantity: 2 }],
        userCouponId: copy.userCouponId,
      });
      await expect(balanceOf(api, buyer.id)).resolves.toBe(6_000 - 1_900);
      await expect(ordersOf(api, buyer.id)).resolves.toMatchObject([{ orderId: order.orderId, status: 'PAID' }]);
      const cancel = await fetch(`${a.origin}/api/v1/orders/${order.orderId}/cancel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.adminToken}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(cancel.status).toBe(200);
      await expect(ordersOf(api, buyer.id)).resolves.toMatchObject([{ orderId: order.orderId, status: 'CANCELLED' }]);
      await expect(balanceOf(api, buyer.id)).resolves.toBe(6_000);
      const history = await historyOf(api, buyer.id);
      expect(history.map((entry) => entry.type)).toEqual(['REFUND', 'PAYMENT', 'CHARGE', 'CHARGE']);
    } finally {
      await cluster.resumeReplay();
    }
  });

  it('answers the catalog from the primary, with no 5xx, while the replica is down, and uses it again once back', async () => {
    const product = await aProduct(admin(a));
    await cluster.stopReplica();
    try {
      for (let i = 0; i < 20; i++) {
        await expect(productStatus(a, product.id)).resolves.toBe(200);
        const list = await fetch(`${b.origin}/api/v1/products?limit=5`);
        expect(list.status).toBe(200);
        const popular = await fetch(`${b.origin}/api/v1/products/popular`);
        expect(popular.status).toBe(200);
      }
      expect(await eventually(5_000, async () => (await upOf(a)) === 0)).toBe(true);
      const made = await aProduct(admin(b), { name: 'made while the replica is down' });
      await expect(productStatus(a, made.id)).resolves.toBe(200);
    } finally {
      await cluster.startReplica();
    }
    expect(await eventually(10_000, async () => (await upOf(a)) === 1)).toBe(true);
    const back = await readsFrom(a, replica);
    expect(
      await eventually(10_000, async () => {
        await productStatus(a, product.id);
        return (await readsFrom(a, replica)) > back;
      }),
    ).toBe(true);
  });
});
