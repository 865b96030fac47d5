import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Argon2PasswordHasher } from '../../src/adapters/auth/argon2-password-hasher.js';
import { type Row, row, runLoad, scaled, statsOf } from '../harness.js';
import { type Scenario, outcomeOf, outcomeOfCall, tally } from './scenario.js';

const LOGINS = scaled(1_000, 64);
const SIGN_UP_CONCURRENCY = 8;
/** A light load and the bench's usual one: beyond the thread pool's size, logins only queue for it. */
const LIGHT_CONCURRENCY = 8;
const HASHES_ALONE = scaled(200, 20);
const THREAD_POOL = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

/**
 * Logins with the right password, round-robin over a pool of accounts twice the concurrency: an email never
 * has more than one login in flight, so no email comes near the limit of 10 failed logins (a login in flight
 * holds a slot of that budget until its password is checked), and none ever fails.
 */
export const login: Scenario = {
  name: 'login',
  description:
    `${LOGINS} logins (POST /auth/login, Argon2id m=19 MiB t=2 p=1 on libuv's pool of ${THREAD_POOL} threads) ` +
    `at ${LIGHT_CONCURRENCY} clients and at the bench's concurrency, over accounts signed up for it`,
  async run(context) {
    const { http } = context;
    const concurrencies = [...new Set([LIGHT_CONCURRENCY, context.concurrency])];
    const accounts = 2 * Math.max(...concurrencies);
    const password = randomBytes(12).toString('base64url');
    const run = randomBytes(4).toString('hex');
    const emails = Array.from({ length: accounts }, (_, i) => `bench-${run}-${i}@bench.example`);
    const rows: Row[] = [];

    // Each sign-up hashes its password once, so the pool's sign-up is itself a (short) measurement.
    const signUps = await runLoad(
      `sign up ${accounts} accounts`,
      accounts,
      SIGN_UP_CONCURRENCY,
      async (i) =>
        outcomeOf(
          await http.request('POST', '/api/v1/auth/signup', { email: emails[i], password, name: `bench login ${i}` }),
          201,
          'SIGNED_UP',
        ),
      { cpu: context.serviceCpuUs },
    );
    const signedUp = tally(signUps.samples.map((s) => s.value)).SIGNED_UP ?? 0;
    rows.push(
      row(
        `signup, ${SIGN_UP_CONCURRENCY} clients`,
        statsOf(signUps.samples, signUps.elapsedMs),
        accounts - signedUp,
        null,
        `${signedUp} of ${accounts} accounts for the login rows`,
        signedUp === accounts,
        { cpuUs: signUps.cpuUsPerRequest },
      ),
    );
    if (signedUp !== accounts) return rows;

    const { logIn } = context.ceiling.useCases;
    for (const concurrency of concurrencies) {
      let lastToken: string | undefined;
      const service = await runLoad(
        `login, ${concurrency} clients (service)`,
        LOGINS,
        concurrency,
        async (i) => {
          const answer = await http.request('POST', '/api/v1/auth/login', { email: emails[i % accounts], password });
          if (answer.status === 200) lastToken = answer.body.accessToken as string;
          return outcomeOf(answer, 200, 'LOGGED_IN');
        },
        { cpu: context.serviceCpuUs },
      );
      const ceiling = await runLoad(`login, ${concurrency} clients (ceiling: in-process)`, LOGINS, concurrency, (i) =>
        outcomeOfCall(
          logIn.execute({ email: emails[i % accounts]!, password, clientAddress: '127.0.0.1' }),
          'LOGGED_IN',
        ),
      );
      // A token the login answered works: GET /auth/me with it.
      const me = lastToken ? await http.request('GET', '/api/v1/auth/me', undefined, lastToken) : undefined;
      const served = tally(service.samples.map((s) => s.value));
      const inProcess = tally(ceiling.samples.map((s) => s.value)).LOGGED_IN ?? 0;
      const failed = LOGINS - (served.LOGGED_IN ?? 0);
      const stats = statsOf(service.samples, service.elapsedMs);
      rows.push(
        row(
          `login, ${concurrency} clients`,
          stats,
          failed,
          statsOf(ceiling.samples, ceiling.elapsedMs),
          `${served.LOGGED_IN ?? 0} logged in, ${(1000 / stats.rps).toFixed(1)} ms of the service per login; ` +
            `its token ${me?.status === 200 ? 'accepted' : 'REFUSED'} by GET /auth/me` +
            (failed === 0 ? '' : `; ${JSON.stringify(served)}`) +
            (inProcess === LOGINS ? '' : `; the ceiling logged in only ${inProcess}`),
          failed === 0 && inProcess === LOGINS && me?.status === 200,
          { cpuUs: service.cpuUsPerRequest },
        ),
      );
    }

    // The hash alone, one at a time, in this process: what one login costs a core.
    const hasher = new Argon2PasswordHasher();
    const hash = await hasher.hash(password);
    const alone = await runLoad('argon2id verify alone', HASHES_ALONE, 1, () => hasher.verify(hash, password));
    const aloneStats = statsOf(alone.samples, alone.elapsedMs);
    const verified = alone.samples.filter((s) => s.value).length;
    const atMost = (1000 / aloneStats.p50) * Math.min(THREAD_POOL, availableParallelism());
    rows.push({
      ...row(
        'argon2id verify alone, 1 at a time',
        aloneStats,
        HASHES_ALONE - verified,
        null,
        `${aloneStats.p50.toFixed(1)} ms per hash on one thread: at most ${atMost.toFixed(0)} logins/s ` +
          `on ${Math.min(THREAD_POOL, availableParallelism())} threads of this machine`,
        verified === HASHES_ALONE,
      ),
      perCallUs: 1e6 / aloneStats.rps,
    });
    return rows;
  },
};
