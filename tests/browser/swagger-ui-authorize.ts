/**
 * `npm run test:browser`: Swagger UI's "Authorize" button, checked in a real headless Chromium, the way a
 * newcomer uses it. Starts the service on a fresh embedded database, logs in as a demo customer, then in
 * the page: Authorize with the access token, open GET /api/v1/users/{userId}/balance, Try it out, Execute,
 * and expects 200 with the customer's balance. Then the same without authorizing: 401.
 *
 * Not part of `npm test`: it needs a Chromium (`apt-get install chromium`, or CHROMIUM=/path/to/chrome),
 * which a clean CI machine does not have. It drives the browser over the DevTools protocol with undici's
 * WebSocket, so it needs no browser-automation package.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'undici';
import { freePort } from '../support/service-process.js';

const CHROMIUM = process.env.CHROMIUM ?? 'chromium';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** One DevTools page session: `evaluate` runs an async function body in the page and returns its value. */
class Page {
  private nextId = 0;
  private readonly pending = new Map<number, (message: { result?: unknown; error?: unknown }) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: unknown };
      if (message.id !== undefined) this.pending.get(message.id)?.(message);
    });
  }

  static async open(debuggingPort: number): Promise<Page> {
    const target = await waitFor('a page target', async () => {
      const targets = (await (await fetch(`http://127.0.0.1:${debuggingPort}/json/list`)).json()) as {
        type: string;
        webSocketDebuggerUrl: string;
      }[];
      return targets.find((candidate) => candidate.type === 'page');
    });
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.addEventListener('open', resolve, { once: true });
      socket.addEventListener('error', reject, { once: true });
    });
    return new Page(socket);
  }

  send(method: string, params: object = {}): Promise<{ result?: unknown; error?: unknown }> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async evaluate<T>(body: string): Promise<T> {
    const answer = (await this.send('Runtime.evaluate', {
      expression: `(async () => { ${body} })()`,
      awaitPromise: true,
      returnByValue: true,
    })) as { result?: { result?: { value?: T }; exceptionDetails?: { exception?: { description?: string } } } };
    const failure = answer.result?.exceptionDetails;
    if (failure) throw new Error(`in the page: ${failure.exception?.description ?? JSON.stringify(failure)}`);
    return answer.result?.result?.value as T;
  }

  close(): void {
    this.socket.close();
  }
}

/** Helpers the page-side scripts share: wait for an element, type into a React input. */
const PAGE_HELPERS = `
  const until = async (probe, what) => {
    for (let i = 0; i < 300; i++) { const found = probe(); if (found) return found; await new Promise(r => setTimeout(r, 100)); }
    throw new Error('no ' + what);
  };
  const type = (input, text) => {
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, text);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  };
  const pause = (ms) => new Promise(r => setTimeout(r, ms));
  await until(() => document.querySelectorAll('.opblock').length > 10, 'the rendered page');
  await pause(300);
  const operation = () => [...document.querySelectorAll('.opblock.opblock-get')].find(
    (block) => block.querySelector('.opblock-summary-path')?.getAttribute('data-path') === '/api/v1/users/{userId}/balance');
`;

/** Opens GET /users/{userId}/balance, presses "Try it out", and focuses (and clears) the userId field. */
const openBalance = `
  ${PAGE_HELPERS}
  const block = await until(operation, 'balance operation');
  // A click before the page has wired its handlers does nothing: click again until the operation opens.
  const tryOut = await until(() => {
    const button = block.querySelector('.try-out__btn');
    if (!button && block.querySelector('.opblock-summary-control')?.getAttribute('aria-expanded') !== 'true')
      block.querySelector('.opblock-summary-control').click();
    return button;
  }, 'Try it out');
  if (!tryOut.classList.contains('cancel')) tryOut.click();
  await pause(200);
  return until(() => {
    const field = block.querySelector('tr[data-param-name="userId"] input');
    field?.focus();
    field?.select();
    return field && document.activeElement === field;
  }, 'a focused userId field');
`;

/** Executes the open operation and reads the answer: its status, whether the curl shown sent a bearer. */
const executeBalance = `
  ${PAGE_HELPERS}
  const block = await until(operation, 'balance operation');
  block.querySelector('.btn-clear')?.click();
  await pause(100);
  block.querySelector('.execute').click();
  const status = await until(() => block.querySelector('.live-responses-table tbody .response-col_status'), 'a response');
  const curl = block.querySelector('.curl-command, .curl')?.textContent ?? '';
  const body = block.querySelector('.live-responses-table .response-col_description pre, .live-responses-table .microlight')?.textContent ?? '';
  return { status: status.textContent.trim(), sentBearer: /authorization: Bearer /i.test(curl), body };
`;

/** Opens the Authorize dialog and focuses its token field, for the keyboard to type into. */
const openAuthorize = `
  ${PAGE_HELPERS}
  (await until(() => document.querySelector('.auth-wrapper .authorize'), 'Authorize button')).click();
  const input = await until(() => document.querySelector('.modal-ux input'), 'token field');
  input.focus();
  return document.activeElement === input;
`;

/** Submits the dialog, waits for it to say so, and closes it. */
const submitAuthorize = `
  ${PAGE_HELPERS}
  (await until(() => document.querySelector('.modal-ux .auth-btn-wrapper .authorize'), 'modal Authorize')).click();
  await until(() => /Logout/.test(document.querySelector('.modal-ux')?.innerText ?? ''), 'the authorized dialog');
  document.querySelector('.modal-ux .btn-done, .modal-ux .close-modal').click();
  return true;
`;

async function main(): Promise<void> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'swagger-ui-check-'));
  // As root the embedded server runs as the `postgres` user, which must reach its data directory in here.
  chmodSync(scratch, 0o755);
  const children: ChildProcess[] = [];
  try {
    const [port, pgPort, debuggingPort] = [await freePort(), await freePort(), await freePort()];
    const origin = `http://127.0.0.1:${port}`;
    const service = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: '',
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        EMBEDDED_PG_PORT: String(pgPort),
        EMBEDDED_PG_DATA_DIR: path.join(scratch, 'postgres'),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(service);
    await waitFor(
      'the service',
      async () => {
        if (service.exitCode !== null) throw new Error(`the service exited with ${service.exitCode}`);
        return (await fetch(`${origin}/ready`)).ok ? true : undefined;
      },
      60_000,
    );

    const password = readFileSync(path.join(scratch, 'secrets', 'demo-password'), 'utf8').trim();
    const login = await fetch(`${origin}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'minji@shop.test', password }),
    });
    const { accessToken, account } = (await login.json()) as { accessToken: string; account: { id: number } };
    if (!login.ok) throw new Error(`login answered ${login.status}`);

    const browser = spawn(
      CHROMIUM,
      [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        `--remote-debugging-port=${debuggingPort}`,
        `--user-data-dir=${path.join(scratch, 'chromium')}`,
        `${origin}/docs`,
      ],
      { stdio: 'ignore' },
    );
    children.push(browser);
    const page = await Page.open(debuggingPort);
    await page.send('Runtime.enable');
    await page.send('Emulation.setFocusEmulationEnabled', { enabled: true });
    try {
      // Typed with the keyboard (DevTools' Input.insertText), as a person would: React sees real input events.
      await waitFor('a focused userId field', async () =>
        (await page.evaluate<boolean>(openBalance)) ? true : undefined,
      );
      await page.send('Input.insertText', { text: String(account.id) });
      const anonymous = await page.evaluate<{ status: string; sentBearer: boolean }>(executeBalance);
      await waitFor('a focused token field', async () =>
        (await page.evaluate<boolean>(openAuthorize)) ? true : undefined,
      );
      await page.send('Input.insertText', { text: accessToken });
      await page.evaluate(submitAuthorize);
      const signedIn = await page.evaluate<{ status: string; sentBearer: boolean; body: string }>(executeBalance);
      console.log(`before Authorize: ${anonymous.status}; after: ${signedIn.status}, body ${signedIn.body.trim()}`);
      const ok =
        anonymous.status === '401' && !anonymous.sentBearer && signedIn.status === '200' && signedIn.sentBearer;
      if (!ok)
        throw new Error(`expected 401 then 200 with a bearer header, got ${JSON.stringify({ anonymous, signedIn })}`);
      console.log('Swagger UI: Authorize works (401 without the token, 200 with it, and the curl shows the header)');
    } finally {
      page.close();
    }
  } finally {
    for (const child of children.reverse()) {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
    }
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
