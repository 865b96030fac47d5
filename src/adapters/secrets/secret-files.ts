import {
  type Stats,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';

// The embedded demo's secrets (the signing key, the demo passwords, the database's credentials) live in one
// directory this process makes, mode 0700, beside the data directory. Its parent may be shared with other
// users, so nothing found there is trusted on its name alone: a file or directory another user owns, that
// is a symbolic link, or that others may write could have been planted to hand us a key or a password, or
// to read the ones we write. Such a file is refused, never repaired: whoever planted it may still hold it.

/** A secret's file or directory this process will not trust; its message is one line naming it and why. */
export class SecretFileRefused extends Error {}

const refuse = (path: string, why: string): never => {
  throw new SecretFileRefused(
    `refusing ${path}: it ${why}; a secret must be a file or directory of this service's user that nobody ` +
      'else can write (remove it, or fix its owner and mode)',
  );
};

/**
 * Refuses `path` unless `stats` (from lstat or fstat, never following a link) are those of a private file or
 * directory of the user `uid` (this process's by default).
 */
export function checkPrivate(
  path: string,
  stats: Stats,
  kind: 'file' | 'directory',
  uid: number | undefined = process.getuid?.(),
): void {
  if (stats.isSymbolicLink()) refuse(path, 'is a symbolic link');
  if (kind === 'file' ? !stats.isFile() : !stats.isDirectory())
    refuse(path, `is not a ${kind === 'file' ? 'regular file' : 'directory'}`);
  if (uid !== undefined && stats.uid !== uid)
    refuse(path, `is owned by uid ${stats.uid}, not by this service's user (uid ${uid})`);
  if ((stats.mode & 0o022) !== 0)
    refuse(path, `can be written by its group or others (mode ${(stats.mode & 0o777).toString(8).padStart(4, '0')})`);
}

/**
 * The secrets directory: made here with mode 0700 (its parent with 0755, which the embedded server's own
 * account must traverse to reach its data when the service runs as root), or one already there that passes
 * the checks, then kept at 0700.
 */
function ensureSecretsDirectory(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // Checked and narrowed through one descriptor, so a link swapped in after the check is never followed.
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') checkPrivate(dir, lstatSync(dir), 'directory');
    if (code === 'EACCES') refuse(dir, "cannot be read by this service's user");
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    checkPrivate(dir, stats, 'directory');
    if ((stats.mode & 0o777) !== 0o700) fchmodSync(fd, 0o700);
  } finally {
    closeSync(fd);
  }
}

/**
 * The secret in `path`, checked on the file actually opened (no link followed, no blocking on a FIFO);
 * undefined when there is none. A file of ours that others may read is narrowed to 0600.
 */
export function readSecret(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') refuse(path, 'is a symbolic link');
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    checkPrivate(path, stats, 'file');
    if ((stats.mode & 0o077) !== 0) fchmodSync(fd, 0o600);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Writes a new file, mode 0600; fails if anything, a link included, is already at `path`. */
function writeNewSecret(path: string, text: string): void {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const fd = openSync(path, flags, 0o600);
  try {
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces the secret in `path` (in the secrets directory) by a new file: written beside it, then renamed
 * over it, so nothing is ever written through whatever was there.
 */
export function replaceSecret(path: string, text: string): void {
  ensureSecretsDirectory(dirname(path));
  const fresh = `${path}.${process.pid}.new`;
  try {
    unlinkSync(fresh);
  } catch {
    // none left by an earlier run
  }
  writeNewSecret(fresh, text);
  renameSync(fresh, path);
}

/**
 * Moves a secret from where older versions kept it into `path`, if it passes the same checks; false when
 * there is none. Linked, then unlinked, so that nothing already at `path` is replaced.
 */
function moveLegacySecret(legacy: string, path: string): boolean {
  let stats: Stats;
  try {
    stats = lstatSync(legacy);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  checkPrivate(legacy, stats, 'file');
  linkSync(legacy, path);
  unlinkSync(legacy);
  return true;
}

/**
 * The secret in `path`, whose directory is the secrets directory: read, or moved there from `legacy` (where
 * older versions kept it); undefined when there is neither.
 */
export function readKeptSecret(
  path: string,
  { legacy }: { legacy?: string } = {},
): { text: string; movedFrom?: string } | undefined {
  ensureSecretsDirectory(dirname(path));
  const found = readSecret(path);
  if (found !== undefined) return { text: found };
  if (legacy === undefined || !moveLegacySecret(legacy, path)) return undefined;
  // Read back through the same checks: the file moved is the one opened, not the one looked at.
  const moved = readSecret(path);
  return moved === undefined ? undefined : { text: moved, movedFrom: legacy };
}

/** The secret in `path` as `readKeptSecret` finds it; else made by `make` and written, mode 0600. */
export function readOrCreateSecret(
  path: string,
  make: () => string,
  options: { legacy?: string } = {},
): { text: string; created: boolean; movedFrom?: string } {
  const kept = readKeptSecret(path, options);
  if (kept !== undefined) return { ...kept, created: false };
  const text = make();
  writeNewSecret(path, text);
  return { text, created: true };
}
