import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/adapters/http/app.js';
import { appDependencies, createContainer } from '../../src/container.js';
import { type ServiceProcess, startServiceProcess } from '../support/service-process.js';
import { withSearchPath } from '../support/service-schema.js';
import { useTestDatabase } from '../support/test-database.js';
import { expectProblem } from '../support/test-app.js';

/**
 * The contract's bound on unauthenticated work: signup, login and refresh together, per client address,
 * past AUTH_RATE_LIMIT_PER_MINUTE a minute, on any instance, before any password is hashed.
 */

const database = useTestDatabase();
const PASSWORD = 'correct horse battery';
const LIMIT = 5;
const apps: FastifyInstance[] = [];

/** One service instance on this file's schema, as main.ts builds it, with a small limit unless told. */
async function instance({
  limit = LIMIT,
  trustProxy,
}: { limit?: number; trustProxy?: number | readonly string[] } = {}): Promise<FastifyInstance> {
  const container = createContainer({
    repositories: { kind: 'POSTGRES', db: database.db },
    auth: { rateLimitPerMinute: limit },
  });
  const app = await buildApp(appDependencies(container), trustProxy === undefined ? {} : { trustProxy });
  apps.push(app);
  return app;
}
afterAll(async () => {
  for (const app of apps) await app.close();
});

let seq = 0;
/** A client address of its own per test, so tests share the schema without sharing a count. */
const anAddress = () => `198.51.100.${++seq}`;
const anEmail = (tag: string) => `${tag}-${process.pid}-${++seq}@tests.invalid`;

const post = (
  app: FastifyInstance,
  url: string,
  payload: unknown,
  remoteAddress: string,
  headers: Record<string, string> = {},
) => app.inject({ method: 'POST', url: `/api/v1${url}`, payload: payload as object, remoteAddress, headers });

function expectRateLimited(response: LightMyRequestResponse): void {
  expectProblem(response, 429, 'TOO_MANY_REQUESTS');
  const wait = Number(response.headers['retry-after']);
  expect(wait).toBeGreaterThanOrEqual(1);
  expect(wait).toBeLessThanOrEqual(60);
}

describe('the per-address limit on POST /auth/signup, /auth/login and /auth/refresh', () => {
  it('answers a flood from one address 429 with Retry-After, while another address still logs in', async () => {
    const app = await instance();
    const [flooder, other] = [anAddress(), anAddress()];
    const email = anEmail('victim');
    expect((await post(app, '/auth/signup', { email, password: PASSWORD, name: 'Victim' }, other)).statusCode).toBe(
      201,
    );
    for (let i = 0; i < LIMIT; i++)
      expectProblem(
        await post(app, '/auth/login', { email, password: `wrong ${i}` }, flooder),
        401,
        'INVALID_CREDENTIALS',
      );
    // Past the limit every one of the three routes is refused to that address, the right password too.
    expectRateLimited(await post(app, '/auth/login', { email, password: PASSWORD }, flooder));
    expectRateLimited(await post(app, '/auth/refresh', { refreshToken: 'x'.repeat(43) }, flooder));
    expectRateLimited(
      await post(app, '/auth/signup', { email: anEmail('late'), password: PASSWORD, name: 'Late' }, flooder),
    );
    // The other address is untouched.
    expect((await post(app, '/auth/login', { email, password: PASSWORD }, other)).statusCode).toBe(200);
  });

  it('counts malformed bodies too: a flood of garbage is refused before it is validated', async () => {
    const app = await instance();
    const flooder = anAddress();
    for (let i = 0; i < LIMIT; i++)
      expectProblem(await post(app, '/auth/login', { email: 'x' }, flooder), 400, 'INVALID_REQUEST');
    expectRateLimited(await post(app, '/auth/login', { email: 'x' }, flooder));
    expectRateLimited(await post(app, '/auth/login', { email: anEmail('any'), password: PASSWORD }, flooder));
  });

  it('limits sign-ups: past the limit from one address no account is made', async () => {
    const app = await instance();
    const flooder = anAddress();
    const emails = Array.from({ length: LIMIT + 3 }, () => anEmail('drain'));
    const answers: number[] = [];
    for (const email of emails)
      answers.push((await post(app, '/auth/signup', { email, password: PASSWORD, name: 'Drain' }, flooder)).statusCode);
    expect(answers).toEqual([...Array<number>(LIMIT).fill(201), 429, 429, 429]);
    const made = await database.db
      .selectFrom('password_credentials')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('email', 'in', emails)
      .executeTakeFirstOrThrow();
    expect(Number(made.n)).toBe(LIMIT);
  });

  it('counts one address on every instance that shares the database', async () => {
    const [a, b] = [await instance(), await instance()];
    const flooder = anAddress();
    const answers = await Promise.all(
      Array.from({ length: 2 * LIMIT }, (_, i) =>
        post(i % 2 ? a : b, '/auth/refresh', { refreshToken: `unknown ${i}` }, flooder),
      ),
    );
    const statuses = answers.map((answer) => answer.statusCode).sort();
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(401), ...Array<number>(LIMIT).fill(429)]);
  });

  it('without trustProxy ignores X-Forwarded-For: one connection address is one client, whatever it claims', async () => {
    const app = await instance();
    const proxy = anAddress();
    for (let i = 0; i < LIMIT; i++)
      expectProblem(
        await post(app, '/auth/refresh', { refreshToken: `unknown ${i}` }, proxy, {
          'x-forwarded-for': `203.0.113.${i + 1}`,
        }),
        401,
        'INVALID_REFRESH_TOKEN',
      );
    expectRateLimited(
      await post(app, '/auth/refresh', { refreshToken: 'unknown' }, proxy, { 'x-forwarded-for': '203.0.113.99' }),
    );
  });

  it('with trustProxy naming the proxy, counts the client it reports in X-Forwarded-For', async () => {
    const proxy = anAddress();
    const app = await instance({ trustProxy: [proxy] });
    const [flooder, other] = ['203.0.113.10', '203.0.113.11'];
    // A client's own X-Forwarded-For entries come first; the proxy appends the address it saw.
    const via = (client: string) => ({ 'x-forwarded-for': `10.1.1.1, ${client}` });
    for (let i = 0; i < LIMIT; i++)
      expectProblem(
        await post(app, '/auth/refresh', { refreshToken: `unknown ${i}` }, proxy, via(flooder)),
        401,
        'INVALID_REFRESH_TOKEN',
      );
    expectRateLimited(await post(app, '/auth/refresh', { refreshToken: 'unknown' }, proxy, via(flooder)));
    expectProblem(
      await post(app, '/auth/refresh', { refreshToken: 'unknown' }, proxy, via(other)),
      401,
      'INVALID_REFRESH_TOKEN',
    );
    // A connection that is not the trusted proxy is counted by its own address, whatever it claims.
    const direct = anAddress();
    for (let i = 0; i < LIMIT; i++)
      await post(app, '/auth/refresh', { refreshToken: `unknown ${i}` }, direct, { 'x-forwarded-for': `192.0.2.${i}` });
    expectRateLimited(await post(app, '/auth/refresh', { refreshToken: 'unknown' }, direct));
  });

  it('with a hop count, counts the address that many proxies back', async () => {
    const app = await instance({ trustProxy: 1 });
    const balancer = anAddress();
    const [flooder, other] = ['203.0.113.20', '203.0.113.21'];
    for (let i = 0; i <= LIMIT; i++)
      await post(app, '/auth/refresh', { refreshToken: `unknown ${i}` }, balancer, { 'x-forwarded-for': flooder });
    expectRateLimited(
      await post(app, '/auth/refresh', { refreshToken: 'unknown' }, balancer, { 'x-forwarded-for': flooder }),
    );
    expectProblem(
      await post(app, '/auth/refresh', { refreshToken: 'unknown' }, balancer, { 'x-forwarded-for': other }),
      401,
      'INVALID_REFRESH_TOKEN',
    );
  });
});

describe('the limit on a service started as npm start runs it', () => {
  let service: ServiceProcess | undefined;
  afterAll(() => {
    service?.child.kill('SIGTERM');
  });

  it('is 60 a minute by default: the 61st request from one address is 429', async () => {
    service = await startServiceProcess({
      DATABASE_URL: withSearchPath(database.url, database.schema),
      AUTH_RATE_LIMIT_PER_MINUTE: undefined,
    });
    // The harness logged its administrator in from this address once already.
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await service.request('POST', '/api/v1/auth/login', {}, null)).status);
    expect(statuses.slice(0, 59)).toEqual(Array<number>(59).fill(400));
    expect(statuses[59]).toBe(429);
  });
});

describe('the failed-login limit per email and client address', () => {
  const logIn = (app: FastifyInstance, email: string, password: string, address: string) =>
    post(app, '/auth/login', { email, password }, address);

  async function anAccount(app: FastifyInstance, tag: string): Promise<string> {
    const email = anEmail(tag);
    const created = await post(app, '/auth/signup', { email, password: PASSWORD, name: tag }, anAddress());
    expect(created.statusCode).toBe(201);
    return email;
  }

  function expectLockedOut(response: LightMyRequestResponse): void {
    expectProblem(response, 429, 'TOO_MANY_REQUESTS');
    const wait = Number(response.headers['retry-after']);
    expect(wait).toBeGreaterThan(850);
    expect(wait).toBeLessThanOrEqual(900);
  }

  it('after 10 failures for an email from one address, refuses that address 429, not another', async () => {
    const app = await instance({ limit: 1_000 });
    const email = await anAccount(app, 'admin-like');
    const [attacker, owner] = [anAddress(), anAddress()];
    for (let i = 0; i < 10; i++)
      expectProblem(await logIn(app, email, `guess ${i}`, attacker), 401, 'INVALID_CREDENTIALS');
    expectLockedOut(await logIn(app, email, PASSWORD, attacker));
    // The owner, from their own address, still logs in: the attacker locked only themselves out.
    expect((await logIn(app, email, PASSWORD, owner)).statusCode).toBe(200);
    // And another instance on the same database sees the same count.
    const other = await instance({ limit: 1_000 });
    expectLockedOut(await logIn(other, email.toUpperCase(), PASSWORD, attacker));
    expect((await logIn(other, email, PASSWORD, owner)).statusCode).toBe(200);
  });

  it('counts the addresses of one IPv6 /64 as one client, for the lockout and for the request limit', async () => {
    const app = await instance({ limit: 1_000 });
    const email = await anAccount(app, 'ipv6');
    const network = `2001:db8:${++seq}:1`;
    for (let i = 0; i < 10; i++)
      expectProblem(await logIn(app, email, `guess ${i}`, `${network}::${i + 1}`), 401, 'INVALID_CREDENTIALS');
    // A fresh address of the same /64 is the same client: locked out.
    expectLockedOut(await logIn(app, email, PASSWORD, `${network}:abcd::1`));
    // The next /64 is another client.
    expect((await logIn(app, email, PASSWORD, `2001:db8:${seq}:2::1`)).statusCode).toBe(200);

    const limited = await instance();
    const flood = `2001:db8:${++seq}:7`;
    for (let i = 0; i < LIMIT; i++)
      expect((await logIn(limited, email, 'wrong password', `${flood}::${i + 1}`)).statusCode).not.toBe(429);
    expectRateLimited(await logIn(limited, email, PASSWORD, `${flood}::ffff`));
  });

  it('after 100 failures for an email from all addresses together, refuses every address', async () => {
    const app = await instance({ limit: 1_000 });
    const email = await anAccount(app, 'besieged');
    const attackers = Array.from({ length: 10 }, () => anAddress());
    // Ten addresses, ten wrong passwords each, at once: 100 failures in all.
    const answers = await Promise.all(
      attackers.map(async (address) => {
        const statuses: number[] = [];
        for (let i = 0; i < 10; i++) statuses.push((await logIn(app, email, `guess ${i}`, address)).statusCode);
        return statuses;
      }),
    );
    expect(answers.flat()).toEqual(Array<number>(100).fill(401));
    // An address that has never failed is refused now, with the right password too.
    expectLockedOut(await logIn(app, email, PASSWORD, anAddress()));
    // Another email is untouched.
    const bystander = await anAccount(app, 'bystander');
    expect((await logIn(app, bystander, PASSWORD, attackers[0]!)).statusCode).toBe(200);
  });
});
