import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The kernel's clock ticks per second, in which /proc reports CPU time. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * A process's CPU time so far from /proc, user and system, all its threads, in microseconds; with
 * `reaped`, the time of its children that have exited and been waited for too.
 */
export function processCpuUs(pid: number, { reaped = false } = {}): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name, which is in parentheses and may itself hold spaces: utime is the
  // 14th field of the line, stime the 15th, cutime and cstime the 16th and 17th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + (reaped ? Number(fields[13]) + Number(fields[14]) : 0);
  return (ticks / CLOCK_TICKS) * 1e6;
}

/** This process's own CPU time so far (the bench's load generator and its checks), in microseconds. */
export function ownCpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(' ').map(Number);
}

/** A child's time, or 0 when it exited between the listing and the read (its time is then its parent's). */
function liveCpuUs(pid: number): number {
  try {
    return processCpuUs(pid);
  } catch {
    return 0;
  }
}

/**
 * The CPU time of a PostgreSQL server running on this machine from `dataDir`, in microseconds: its postmaster
 * and every process under it, live (backends, walwriter, checkpointer) or exited and reaped. Null when the
 * server is not a local process this one can read (DATABASE_URL elsewhere).
 */
export function postgresCpuProbe(dataDir: string): (() => number) | null {
  try {
    const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    processCpuUs(postmaster);
    return () =>
      processCpuUs(postmaster, { reaped: true }) +
      childrenOf(postmaster).reduce((sum, child) => sum + liveCpuUs(child), 0);
  } catch {
    return null;
  }
}
