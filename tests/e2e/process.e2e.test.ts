import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { isWebhookSecret } from '../../src/adapters/data-platform/webhook-signer.js';
import { Receiver } from '../integration/data-platform/receiver.js';
import { aCharge, aProduct, anOrder } from '../support/builders.js';
import {
  SERVICE_AUTH_ENV,
  type ServiceProcess,
  freePort,
  logIn,
  startOnEmbedded,
  startServiceProcess,
} from '../support/service-process.js';

/** `npm start` as a user runs it: no DATABASE_URL, so an embedded PostgreSQL in a data directory. */
const home = path.join(tmpdir(), `shop-process-${process.pid}-${Date.now()}`);
const dataDir = path.join(home, 'postgres');
/** The demo accounts' shared password, which the first start writes into the secrets directory. */
const demoPassword = () => readFileSync(path.join(home, 'secrets', 'demo-password'), 'utf8').trim();

function start(pgPort: number): Promise<ServiceProcess> {
  return startOnEmbedded(dataDir, pgPort);
}

/** A demo customer, logged in: their id and token. */
async function minji(service: ServiceProcess): Promise<{ id: number; token: string }> {
  const session = await logIn(service.origin, { email: 'minji@shop.test', password: demoPassword() });
  return { id: session.account.id, token: session.accessToken };
}

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

function postmasterPid(dir: string): number {
  return Number.parseInt(readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
}

/** Whether a process (a positive pid) or any process of a group (a negative one) is still there. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The parent pid and process group of each live process, from /proc. */
function processTable(): Array<{ pid: number; ppid: number; group: number; command: string }> {
  const table = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The fields after the command's parenthesised name: state, ppid, pgrp, …
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [, ppid, group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      table.push({ pid: Number(entry), ppid: Number(ppid), group: Number(group), command });
    } catch {
      // gone since the directory was listed
    }
  }
  return table;
}

/** The node process of `group` that runs the service itself: one running src/main.ts under no other such process. */
function serviceProcessIn(group: number): number {
  const runningMain = processTable().filter((p) => p.group === group && /node.*src\/main\.ts/.test(p.command));
  const innermost = runningMain.filter((p) => !runningMain.some((child) => child.ppid === p.pid));
  if (innermost.length !== 1)
    throw new Error(`expected one service process in group ${group}: ${JSON.stringify(runningMain)}`);
  return innermost[0]!.pid;
}

/** Kills what a failed test may have left: the service (a pid, or a group as -pid) and the embedded postmaster. */
function killLeftovers(service: ServiceProcess, target: number, postmaster: number): void {
  if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
  for (const pid of [target, postmaster]) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

/**
 * A login whose headers are sent at once and whose body only when `finish` is called: a request in flight that
 * is still arriving. `answer` resolves with the status and body once the service answers, or with status 0 and
 * the error when the connection fails (a settled promise, so a failure is an assertion, not a stray rejection).
 */
function slowLogin(origin: string, credentials: { email: string; password: string }) {
  const body = JSON.stringify(credentials);
  const request = httpRequest(`${origin}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve) => {
    const failed = (error: Error) => resolve({ status: 0, body: String(error) });
    request.on('error', failed);
    request.once('response', (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      response.on('error', failed);
    });
  });
  const half = Math.floor(body.length / 2);
  request.write(body.slice(0, half));
  request.flushHeaders();
  return { answer, finish: () => request.end(body.slice(half)) };
}

describe('the service process on its embedded database', () => {
  it('seeds a demo shop, keeps its data across a restart, and stops cleanly on SIGTERM', async () => {
    await mkdir(home, { recursive: true });
    const pgPort = await freePort();

    const startedAt = performance.now();
    const first = await start(pgPort);
    const coldStartMs = performance.now() - startedAt;
    console.log(`cold start (new data directory) to ready: ${coldStartMs.toFixed(0)} ms`);

    const products = (await first.request<{ items: unknown[] }>('GET', '/api/v1/products', undefined, null)).body;
    expect(products.items.length).toBeGreaterThan(0);
    const customer = await minji(first);
    const charge = await first.request<{ balance: number }>(
      'POST',
      `/api/v1/users/${customer.id}/balance/charge`,
      { amount: 777 },
      customer.token,
    );
    expect(charge.status).toBe(200);
    const balanceAfterCharge = charge.body.balance;

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);

    const restartedAt = performance.now();
    const second = await start(pgPort);
    console.log(`warm start (existing data directory) to ready: ${(performance.now() - restartedAt).toFixed(0)} ms`);
    const { token } = await minji(second);
    const balance = (
      await second.request<{ balance: number }>('GET', `/api/v1/users/${customer.id}/balance`, undefined, token)
    ).body;
    expect(balance.balance).toBe(balanceAfterCharge);
    const again = (await second.request<{ items: unknown[] }>('GET', '/api/v1/products?limit=100', undefined, null))
      .body;
    expect(again.items).toHaveLength(products.items.length);

    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('seeds the demo shop even when ADMIN_EMAIL names an administrator too, and that administrator can log in', async () => {
    const otherHome = path.join(home, 'with-admin');
    await mkdir(otherHome, { recursive: true });
    const admin = { email: 'ops@shop.test', password: 'ops-password-1234' };
    const service = await startServiceProcess(
      {
        DATABASE_URL: undefined,
        EMBEDDED_PG_PORT: String(await freePort()),
        EMBEDDED_PG_DATA_DIR: path.join(otherHome, 'postgres'),
        AUTH_SIGNING_KEY: undefined,
        ADMIN_EMAIL: admin.email,
        ADMIN_PASSWORD: admin.password,
      },
      { admin: () => admin },
    );
    try {
      const products = (await service.request<{ items: unknown[] }>('GET', '/api/v1/products', undefined, null)).body;
      expect(products.items.length).toBeGreaterThan(0);
      const password = readFileSync(path.join(otherHome, 'secrets', 'demo-password'), 'utf8').trim();
      const demo = await logIn(service.origin, { email: 'minji@shop.test', password });
      expect(demo.account.role).toBe('CUSTOMER');
      const ops = await logIn(service.origin, admin);
      expect(ops.account.role).toBe('ADMIN');
    } finally {
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    }
  });

  it('answers a request still arriving when SIGTERM comes twice, then exits 0', async () => {
    const otherHome = path.join(home, 'sigterm-twice');
    await mkdir(otherHome, { recursive: true });
    const otherData = path.join(otherHome, 'postgres');
    const service = await startOnEmbedded(otherData, await freePort());
    const postmaster = postmasterPid(otherData);
    try {
      const password = readFileSync(path.join(otherHome, 'secrets', 'demo-password'), 'utf8').trim();
      const login = slowLogin(service.origin, { email: 'minji@shop.test', password });
      // The request is being read when the signals come (the headers are in and half of the body).
      await sleep(300);
      service.child.kill('SIGTERM');
      await sleep(200);
      service.child.kill('SIGTERM');
      await sleep(300);
      login.finish();
      const answer = await login.answer;
      expect(answer.status, answer.body).toBe(200);
      expect(await service.exited).toBe(0);
      expect(isAlive(postmaster)).toBe(false);
    } finally {
      killLeftovers(service, service.child.pid!, postmaster);
    }
  });

  it('exits 1 once SHUTDOWN_TIMEOUT_MS has passed with a request still open, and stops its database server all the same', async () => {
    const otherHome = path.join(home, 'shutdown-timeout');
    await mkdir(otherHome, { recursive: true });
    const otherData = path.join(otherHome, 'postgres');
    const service = await startOnEmbedded(otherData, await freePort(), { env: { SHUTDOWN_TIMEOUT_MS: '1000' } });
    const postmaster = postmasterPid(otherData);
    const password = readFileSync(path.join(otherHome, 'secrets', 'demo-password'), 'utf8').trim();
    // A client that sends half its request and then nothing: the drain can't finish.
    const login = slowLogin(service.origin, { email: 'minji@shop.test', password });
    try {
      await sleep(300);
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(1);
      for (let waited = 0; isAlive(postmaster) && waited < 10_000; waited += 100) await sleep(100);
      expect(isAlive(postmaster)).toBe(false);
      // Stopped as PostgreSQL stops when told, not killed: it removed its pid file.
      expect(existsSync(path.join(otherData, 'postmaster.pid'))).toBe(false);
    } finally {
      login.finish();
      await login.answer;
      killLeftovers(service, service.child.pid!, postmaster);
    }
  });

  it('stops cleanly on Ctrl-C twice under npm start, leaving no process of its group nor its database server', async () => {
    const otherHome = path.join(home, 'ctrl-c-twice');
    await mkdir(otherHome, { recursive: true });
    const otherData = path.join(otherHome, 'postgres');
    // As a shell runs `npm start` in the foreground: a group of its own, npm leading it.
    const service = await startOnEmbedded(otherData, await freePort(), {
      ownProcessGroup: true,
      viaNpmStart: true,
    });
    const group = service.child.pid!;
    const postmaster = postmasterPid(otherData);
    const ended = new Promise<number | NodeJS.Signals | null>((resolve) =>
      service.child.once('exit', (code, signal) => resolve(code ?? signal)),
    );
    try {
      const password = readFileSync(path.join(otherHome, 'secrets', 'demo-password'), 'utf8').trim();
      const login = slowLogin(service.origin, { email: 'minji@shop.test', password });
      await sleep(300);
      // Stopped for a moment, as a service whose event loop is busy under load when Ctrl-C comes: whatever
      // runs it must wait for it to take the signal, never kill it for being slow to.
      const servicePid = serviceProcessIn(group);
      process.kill(servicePid, 'SIGSTOP');
      // The terminal's Ctrl-C reaches every process of the group, and npm relays it to its script as well.
      process.kill(-group, 'SIGINT');
      await sleep(200);
      if (isAlive(-group)) process.kill(-group, 'SIGINT');
      await sleep(100);
      if (isAlive(servicePid)) process.kill(servicePid, 'SIGCONT');
      await sleep(300);
      login.finish();
      const answer = await login.answer;
      expect(answer.status, answer.body).toBe(200);
      // The shell npm runs the script in ends itself by the SIGINT it got once the service has exited, and npm
      // then does the same, as a command stopped by Ctrl-C does (status 130).
      expect(await ended).toBe('SIGINT');
      expect(isAlive(-group)).toBe(false);
      expect(isAlive(postmaster)).toBe(false);
      expect(existsSync(path.join(otherData, 'postmaster.pid'))).toBe(false);
    } finally {
      killLeftovers(service, -group, postmaster);
    }
  });

  it('refuses to start on DATABASE_URL without AUTH_SIGNING_KEY, in one line, before it touches the database', async () => {
    // Nothing listens on port 1: had the service connected (or migrated) first, it would fail on that instead.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, DATABASE_URL: 'postgres://shop@127.0.0.1:1/shop', AUTH_SIGNING_KEY: '', PORT: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/AUTH_SIGNING_KEY is required with DATABASE_URL/);
    expect(stderr).not.toMatch(/ECONNREFUSED|stack|at /);
  });

  it('refuses to start on DATABASE_URL and DATA_PLATFORM_URL without a valid DATA_PLATFORM_SECRET, in one line, never printing it', async () => {
    // As above: nothing listens on port 1, so a service that got as far as the database would say so instead.
    const refusal = async (secret: string) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: {
          ...process.env,
          DATABASE_URL: 'postgres://shop@127.0.0.1:1/shop',
          AUTH_SIGNING_KEY: SERVICE_AUTH_ENV.AUTH_SIGNING_KEY,
          DATA_PLATFORM_URL: 'http://127.0.0.1:1/ingest',
          DATA_PLATFORM_SECRET: secret,
          PORT: '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(output).not.toMatch(/ECONNREFUSED|stack|at /);
      return output.trim().split('\n');
    };

    expect((await refusal('')).at(-1)).toMatch(
      /^ {2}DATA_PLATFORM_SECRET is required with DATABASE_URL and DATA_PLATFORM_URL .*openssl rand -base64 32/,
    );
    const malformed = await refusal('whsec_hunter2-is-not-base64');
    expect(malformed.at(-1)).toMatch(/^ {2}DATA_PLATFORM_SECRET=<redacted>: must be whsec_ followed by the base64/);
    expect(malformed.join('\n')).not.toContain('hunter2');
  });

  it('on the embedded default with DATA_PLATFORM_URL, makes a data platform secret in the secrets directory and signs with it', async () => {
    const otherHome = path.join(home, 'signed-deliveries');
    await mkdir(otherHome, { recursive: true });
    const receiver = await new Receiver().start();
    const service = await startOnEmbedded(path.join(otherHome, 'postgres'), await freePort(), {
      env: { DATA_PLATFORM_URL: receiver.url },
    });
    try {
      const file = path.join(otherHome, 'secrets', 'data-platform-secret');
      const secret = readFileSync(file, 'utf8').trim();
      expect(isWebhookSecret(secret)).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);

      const password = readFileSync(path.join(otherHome, 'secrets', 'demo-password'), 'utf8').trim();
      const session = await logIn(service.origin, { email: 'minji@shop.test', password });
      const customer = { origin: service.origin, token: session.accessToken };
      await aCharge(customer, session.account.id, 5_000);
      const lamp = await aProduct(service, { name: 'Signed lamp', price: 1_000, stock: 5 });
      const placed = await anOrder(customer, {
        userId: session.account.id,
        items: [{ productId: lamp.id, quantity: 1 }],
      });

      const sent = () =>
        receiver.requests.find((r) => (JSON.parse(r.body) as { orderId: number }).orderId === placed.orderId);
      for (const started = performance.now(); !sent() && performance.now() - started < 5_000; ) await sleep(20);
      const request = sent();
      expect(request).toBeDefined();
      expect(new Webhook(secret).verify(request!.body, request!.headers as Record<string, string>)).toMatchObject({
        orderId: placed.orderId,
        paidAmount: 1_000,
      });
    } finally {
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
      await receiver.stop();
    }
  });
});
