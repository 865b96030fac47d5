import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { SERVICE_AUTH_ENV, freePort } from '../../support/service-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LOG_LINES_KEPT = 400;
const ERRORS_KEPT = 50;

/** A log line of the service at level error or above, as pino wrote it. */
export interface LoggedError {
  readonly at: number;
  readonly msg: string;
  readonly err?: string;
}

/**
 * `src/main.ts` as a process of its own, that a fault test can kill and start again, always on the same
 * loopback port (clients keep their origin across restarts). Its log goes to a ring buffer, not to the
 * test output; errors it logs are kept apart, and the tail is printed when a start fails. It signs with the
 * test process's shared key and creates its administrator (SERVICE_AUTH_ENV, under `env`), so instances on
 * one database, and one instance across restarts, accept the same tokens; and it signs its deliveries with
 * TEST_DATA_PLATFORM_SECRET (SERVICE_AUTH_ENV too), which FaultReceiver verifies every request with.
 */
export class ServiceInstance {
  readonly log: string[] = [];
  readonly errors: LoggedError[] = [];
  errorCount = 0;
  starts = 0;
  kills = 0;
  /** Exits nobody asked for (a crash), with the log lines just before. */
  readonly crashes: { at: number; code: number | null; signal: NodeJS.Signals | null; tail: string }[] = [];
  private expectingExit = false;
  private child: ChildProcess | undefined;
  private exit: Promise<number | null> | undefined;
  private port = 0;

  constructor(
    readonly name: string,
    private readonly env: Record<string, string | undefined>,
  ) {}

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and resolves once GET /ready answers 200; the time that took, in ms. */
  async start(readyWithinMs = 45_000): Promise<number> {
    if (this.running) throw new Error(`${this.name} is already running`);
    if (this.port === 0) this.port = await freePort();
    const startedAt = performance.now();
    try {
      await this.spawnAndWait(readyWithinMs);
    } catch (error) {
      // The port may have been taken meanwhile: then one more try on a fresh one.
      if (!String(error).includes('EADDRINUSE')) throw error;
      if (this.running) await this.kill('SIGKILL');
      this.port = await freePort();
      this.note(`[harness] start failed (${String(error)}); retrying on port ${this.port}`);
      await this.spawnAndWait(readyWithinMs);
    }
    this.starts++;
    return performance.now() - startedAt;
  }

  /** Sends `signal` and waits for the process to end. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = this.child;
    if (!child || !this.running) return child?.exitCode ?? null;
    if (signal === 'SIGKILL') this.kills++;
    this.expectingExit = true;
    child.kill(signal);
    return this.exit!;
  }

  /** SIGTERM, then SIGKILL if it has not ended within `graceMs`. The exit code (null when killed). */
  async stop(graceMs = 15_000): Promise<number | null> {
    const child = this.child;
    if (!child || !this.running) return child?.exitCode ?? null;
    this.expectingExit = true;
    child.kill('SIGTERM');
    const ended = await Promise.race([this.exit!, sleep(graceMs).then(() => 'timeout' as const)]);
    if (ended !== 'timeout') return ended;
    this.note(`[harness] no exit ${graceMs} ms after SIGTERM: SIGKILL`);
    child.kill('SIGKILL');
    return this.exit!;
  }

  /** The last lines of the service's log, for a failure message. */
  tail(lines = 40): string {
    return this.log.slice(-lines).join('\n');
  }

  private async spawnAndWait(readyWithinMs: number): Promise<void> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(this.port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...SERVICE_AUTH_ENV,
    };
    for (const [name, value] of Object.entries(this.env)) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.expectingExit = false;
    this.exit = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        // Give the last output a moment to arrive before keeping the tail.
        setTimeout(() => {
          if (!this.expectingExit && this.starts > 0)
            this.crashes.push({ at: performance.now(), code, signal, tail: this.tail(60) });
          resolve(code);
        }, 50);
      }),
    );
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) this.note(line);
      });
    }

    const deadline = performance.now() + readyWithinMs;
    for (;;) {
      if (!this.running)
        throw new Error(
          `${this.name} exited with ${child.exitCode ?? child.signalCode} during start-up:\n${this.tail()}`,
        );
      try {
        const response = await fetch(`${this.origin}/ready`, { signal: AbortSignal.timeout(2_000) });
        await response.arrayBuffer();
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (performance.now() > deadline) {
        child.kill('SIGKILL');
        await this.exit;
        throw new Error(`${this.name} was not ready within ${readyWithinMs} ms:\n${this.tail()}`);
      }
      await sleep(100);
    }
  }

  private note(line: string): void {
    this.log.push(line);
    if (this.log.length > LOG_LINES_KEPT) this.log.splice(0, this.log.length - LOG_LINES_KEPT);
    if (!line.startsWith('{')) return;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string; type?: string } };
      if ((entry.level ?? 0) >= 50) {
        this.errorCount++;
        if (this.errors.length < ERRORS_KEPT) {
          this.errors.push({
            at: performance.now(),
            msg: entry.msg ?? '',
            ...(entry.err ? { err: `${entry.err.type ?? 'Error'}: ${entry.err.message ?? ''}` } : {}),
          });
        }
      }
    } catch {
      // not a pino line
    }
  }
}
