import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, query, startCluster } from './support/cluster.js';
import { eventually } from './support/eventually.js';

/** How soon a row written on the primary must be readable on a streaming replica that is replaying. */
const STREAMS_WITHIN_MS = 5_000;

describe('the scale cluster: a primary, a streaming replica and PgBouncer', () => {
  let cluster: Cluster;
  let nextId = 1;

  beforeAll(async () => {
    cluster = await startCluster();
    // As the service's migrations will: the database's owner creates its tables in public, through PgBouncer.
    await query(cluster.bouncerUrl, 'CREATE TABLE harness_rows (id int PRIMARY KEY)');
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  const write = async () => {
    const id = nextId++;
    await query(cluster.primaryUrl, 'INSERT INTO harness_rows (id) VALUES ($1)', [id]);
    return id;
  };
  const onReplica = async (id: number) =>
    (await query(cluster.replicaUrl, 'SELECT 1 FROM harness_rows WHERE id = $1', [id])).length === 1;

  it('streams: the replica is in recovery, and a row written on the primary appears on it within seconds', async () => {
    const [replica] = await query<{ recovering: boolean }>(
      cluster.replicaUrl,
      'SELECT pg_is_in_recovery() AS recovering',
    );
    expect(replica?.recovering).toBe(true);
    const id = await write();
    expect(await eventually(STREAMS_WITHIN_MS, () => onReplica(id))).toBe(true);
    await cluster.caughtUp();
    expect(await cluster.replicaLagBytes()).toBe(0);
  });

  it('answers through PgBouncer for the primary (shop) and for the replica (shop_replica)', async () => {
    const id = await write();
    const [primary] = await query<{ database: string; recovering: boolean; found: boolean }>(
      cluster.bouncerUrl,
      'SELECT current_database() AS database, pg_is_in_recovery() AS recovering, EXISTS (SELECT 1 FROM harness_rows WHERE id = $1) AS found',
      [id],
    );
    expect(primary).toEqual({ database: 'shop', recovering: false, found: true });
    await cluster.caughtUp();
    const [replica] = await query<{ database: string; recovering: boolean; found: boolean }>(
      cluster.bouncerReplicaUrl,
      'SELECT current_database() AS database, pg_is_in_recovery() AS recovering, EXISTS (SELECT 1 FROM harness_rows WHERE id = $1) AS found',
      [id],
    );
    expect(replica).toEqual({ database: 'shop', recovering: true, found: true });
  });

  it('pools by transaction: a client that is between transactions holds no server connection', async () => {
    const a = new pg.Client({ connectionString: cluster.bouncerUrl });
    const b = new pg.Client({ connectionString: cluster.bouncerUrl });
    await a.connect();
    await b.connect();
    try {
      const pid = async (client: pg.Client) =>
        (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      // a's transaction is over, so its server connection went back to the pool although a stays
      // connected; PgBouncer hands out idle server connections last in, first out (server_round_robin's
      // default), so b's transaction gets that very one. In session pooling it would stay a's.
      const released = await pid(a);
      await b.query('BEGIN');
      expect(await pid(b)).toBe(released);
      // While b's transaction holds it, a is given another.
      expect(await pid(a)).not.toBe(released);
      await b.query('COMMIT');
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('pauses replay: a row written meanwhile reaches the replica but is not visible until replay resumes', async () => {
    await cluster.pauseReplay();
    try {
      const id = await write();
      const [{ lsn }] = (await cluster.primarySql<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')) as [
        { lsn: string },
      ];
      // Received, so its absence is the pause's doing and not the network's.
      const received = await eventually(STREAMS_WITHIN_MS, async () => {
        const [row] = await cluster.replicaSql<{ received: boolean }>(
          'SELECT pg_last_wal_receive_lsn() >= $1::pg_lsn AS received',
          [lsn],
        );
        return row?.received === true;
      });
      expect(received).toBe(true);
      // Time a replaying replica would have used to make the row visible.
      await sleep(500);
      expect(await onReplica(id)).toBe(false);
      expect(await cluster.replicaLagBytes()).toBeGreaterThan(0);

      await cluster.resumeReplay();
      expect(await eventually(STREAMS_WITHIN_MS, () => onReplica(id))).toBe(true);
    } finally {
      await cluster.resumeReplay();
    }
  });

  it('stops and starts the replica: it is unreachable while stopped, then catches up with what it missed', async () => {
    await cluster.stopReplica();
    try {
      await expect(query(cluster.replicaUrl, 'SELECT 1')).rejects.toThrow();
      const id = await write();
      // The primary keeps working, and keeps the WAL the replica has yet to receive in its slot.
      const [slot] = await cluster.primarySql<{ active: boolean }>(
        `SELECT active FROM pg_replication_slots WHERE slot_name = 'replica'`,
        [],
        'postgres',
      );
      expect(slot?.active).toBe(false);

      await cluster.startReplica();
      expect(await onReplica(id)).toBe(true);
    } finally {
      await cluster.startReplica().catch(() => undefined);
    }
    const after = await write();
    expect(await eventually(STREAMS_WITHIN_MS, () => onReplica(after))).toBe(true);
    // PgBouncer reconnects to the restarted replica by itself.
    const [row] = await query<{ recovering: boolean }>(
      cluster.bouncerReplicaUrl,
      'SELECT pg_is_in_recovery() AS recovering',
    );
    expect(row?.recovering).toBe(true);
  });
});
