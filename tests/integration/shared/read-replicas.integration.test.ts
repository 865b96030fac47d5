import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../../src/adapters/postgres/database.js';
import { PgProductQueries } from '../../../src/adapters/postgres/pg-product-repository.js';
import { readsFromReplicas } from '../../../src/adapters/postgres/read-routing.js';
import { Replica, ReplicaSet, startReplicaSet } from '../../../src/adapters/postgres/replicas.js';
import { freePort } from '../../support/service-process.js';
import { useTestDatabase } from '../../support/test-database.js';

/**
 * Where the catalog's reads go when replicas are named, on the one test server: a "replica" that is really
 * the primary, or nothing at all. The scale tier (tests/scale) has a real streaming replica.
 */
const database = useTestDatabase({ poolSize: 4 });
const made: (Db | ReplicaSet)[] = [];
afterAll(async () => {
  for (const thing of made.reverse()) await (thing instanceof ReplicaSet ? thing.stop() : thing.destroy());
});

const MAX_LAG_MS = 1_000;

function replicaSet(...urls: string[]): ReplicaSet {
  const replicas = urls.map(
    (url, i) =>
      new Replica(`replica-${i}`, createDb({ url, schema: database.schema, poolSize: 2, connectionTimeoutMs: 500 })),
  );
  const set = new ReplicaSet(database.db, replicas, { maxLagMs: MAX_LAG_MS });
  made.push(set);
  return set;
}

/** A replica marked fresh as of now, as a check that found it caught up would leave it. */
function markedFresh(replica: Replica): void {
  replica.up = true;
  replica.freshAsOf = Date.now();
}

const closedPortUrl = async () => {
  const url = new URL(database.url);
  url.port = String(await freePort());
  return url.toString();
};

const aProductRow = async () =>
  (
    await sql<{ id: number }>`
      INSERT INTO products (name, price, stock, created_at, updated_at)
      VALUES ('replica probe', 1000, 5, now(), now()) RETURNING id`.execute(database.db)
  ).rows[0]!.id;

describe('catalog reads with replicas named, on PostgreSQL', () => {
  it('takes a server that is not in recovery for no replica: down, and the primary answers', async () => {
    const set = replicaSet(database.url);
    await set.check();
    expect(set.statuses()).toEqual([{ name: 'replica-0', up: false, lagSeconds: undefined }]);
    expect(set.pick()).toBeUndefined();

    const id = await aProductRow();
    const product = await new PgProductQueries(readsFromReplicas(database.db, set)).findById(id);
    expect(product?.id).toBe(id);
    expect(Object.fromEntries(set.readsBySource())).toEqual({ primary: 1 });
  });

  it('finds an unreachable replica down, and passes over one that fails a read: the primary answers it', async () => {
    const set = replicaSet(await closedPortUrl());
    await set.check();
    expect(set.statuses()[0]?.up).toBe(false);

    // As if a check had found it caught up just before it went away.
    markedFresh(set.replicas[0]!);
    expect(set.pick()).toBe(set.replicas[0]);
    const id = await aProductRow();
    const product = await new PgProductQueries(readsFromReplicas(database.db, set)).findById(id);
    expect(product?.id).toBe(id);
    expect(set.replicas[0]!.up).toBe(false);
    expect(Object.fromEntries(set.readsBySource())).toEqual({ primary: 1 });
  });

  it.each([
    ['refuses its password', (url: URL) => void (url.password = 'not-the-password')],
    ['has no such database', (url: URL) => void (url.pathname = '/no_such_database')],
  ])('passes over a replica that %s: the primary answers, and the replica is down', async (_label, spoil) => {
    const url = new URL(database.url);
    spoil(url);
    const set = replicaSet(url.toString());
    markedFresh(set.replicas[0]!);
    const id = await aProductRow();
    const product = await new PgProductQueries(readsFromReplicas(database.db, set)).findById(id);
    expect(product?.id).toBe(id);
    expect(set.replicas[0]!.up).toBe(false);
    expect(Object.fromEntries(set.readsBySource())).toEqual({ primary: 1 });
  });

  it('reads on a fresh replica, each in turn, and does not retry on the primary a query that is wrong', async () => {
    const set = replicaSet(database.url, database.url);
    for (const replica of set.replicas) markedFresh(replica);
    const routed = readsFromReplicas(database.db, set);
    const id = await aProductRow();
    for (let i = 0; i < 4; i++) expect((await new PgProductQueries(routed).findById(id))?.id).toBe(id);
    expect(Object.fromEntries(set.readsBySource())).toEqual({ 'replica-0': 2, 'replica-1': 2 });

    await expect(sql`SELECT no_such_column FROM products`.execute(routed)).rejects.toMatchObject({ code: '42703' });
    expect(set.readsBySource().get('primary')).toBeUndefined();
    expect(set.replicas.every((replica) => replica.up)).toBe(true);
  });

  it('names a replica host:port, or by its place when its URL has no host, never with its credentials', async () => {
    const socketUrl = 'postgres://reader:s3cret@/shop?host=/nonexistent/socket/dir';
    const set = startReplicaSet(database.db, [await closedPortUrl(), socketUrl], { poolSize: 1 }, { maxLagMs: 1_000 });
    made.push(set);
    const names = set.statuses().map((status) => status.name);
    expect(names).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$|^localhost:\d+$/), 'replica 2']);
    expect(JSON.stringify(names)).not.toContain('s3cret');
  });

  it('passes over a replica further behind than the bound, and runs no transaction on the routed reads', async () => {
    const set = replicaSet(database.url);
    const [replica] = set.replicas as [Replica];
    replica.up = true;
    replica.freshAsOf = Date.now() - MAX_LAG_MS - 100;
    expect(set.pick()).toBeUndefined();
    replica.freshAsOf = Date.now() - MAX_LAG_MS + 500;
    expect(set.pick()).toBe(replica);

    await expect(
      readsFromReplicas(database.db, set)
        .transaction()
        .execute(async () => 1),
    ).rejects.toThrow(/outside transactions/);
  });
});
