import type { ChildProcess } from 'node:child_process';
import { readlinkSync, realpathSync } from 'node:fs';
import { platform } from 'node:os';
import path from 'node:path';

export const hasExited = (server: ChildProcess) => server.exitCode !== null || server.signalCode !== null;

/** The pid on postmaster.pid's first line. */
export function pidOf(contents: string): number | undefined {
  const pid = Number.parseInt(contents.split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
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
export function isPostmasterOf(pid: number, dataDir: string): boolean | undefined {
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

export function sameDirectory(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
}
