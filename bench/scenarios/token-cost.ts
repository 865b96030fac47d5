import { generateKeyPairSync } from 'node:crypto';
import { JoseAccessTokens } from '../../src/adapters/auth/jose-access-tokens.js';
import { newSigningKeyPem, parseSigningKey } from '../../src/adapters/auth/signing-keys.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { type Row, type Stats, row, runLoad, scaled, statsOf } from '../harness.js';
import { createProducts } from './orders.js';
import { type Scenario, actingAs, insertUsers } from './scenario.js';

const VERIFICATIONS = scaled(20_000, 500);
const FIRST_SIGHTS = scaled(5_000, 200);
const READS = scaled(20_000, 500);
const READERS = scaled(1_000, 64);

const perCall = (stats: Stats) => 1e6 / stats.rps;
const us = (value: number) => `${value.toFixed(0)} µs`;
const signed = (value: number) => `${value >= 0 ? '+' : '−'}${us(Math.abs(value))}`;

const p256Pem = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** An in-process row: the step timed alone, its cost per call in the correctness column and in perCallUs. */
function stepRow(name: string, stats: Stats, failures: number, note: string): Row {
  return {
    ...row(name, stats, failures, null, `${us(perCall(stats))} per call${note}`, failures === 0),
    perCallUs: perCall(stats),
  };
}

/**
 * What authentication costs each request. In-process: the signature check of a token never seen before,
 * with an Ed25519 key and with a P-256 one, then the check of a token seen before (remembered by its text),
 * then the whole step the HTTP edge runs (Authenticate: verify, then the user's token version, from the
 * 500 ms cache, or read the first time a user is seen, with the other users read at the same moment). Over HTTP: a signed-in read beside a
 * public read of about the same work (one row by primary key, a small JSON answer), each with its ceiling;
 * at full load 1/rps is what one request costs the service, so the difference of the two is the price of
 * the bearer token (with a little for the different query).
 */
export const tokenCost: Scenario = {
  name: 'token-cost',
  description:
    `${VERIFICATIONS} token verifications in-process, ${FIRST_SIGHTS} first sights of a user, and ${READS} ` +
    'GET /users/:id/balance (bearer) against GET /products/:id (public)',
  async run(context) {
    const { auth, ceiling, concurrency, http } = context;
    const { authenticate, getBalance, getProduct } = ceiling.useCases;
    const rows: Row[] = [];

    // The signature check itself, with each algorithm the service signs with: a token never seen before
    // each call, so none is taken from the verified tokens remembered.
    const perAlgorithm: Record<string, number[]> = {};
    for (const [algorithm, keyPem] of [
      ['EdDSA', newSigningKeyPem()],
      ['ES256', p256Pem()],
    ] as const) {
      const tokens = new JoseAccessTokens({
        signingKey: parseSigningKey(keyPem),
        lifetimeSeconds: 3600,
        clock: systemClock,
      });
      for (const clients of [1, concurrency]) {
        const fresh = await Promise.all(
          Array.from({ length: VERIFICATIONS }, (_, i) =>
            tokens.issue({ userId: i + 1, role: 'CUSTOMER', tokenVersion: 0 }),
          ),
        );
        const label = `verify ${algorithm}, new token each, ${clients} at once`;
        const run = await runLoad(label, VERIFICATIONS, clients, (i) => tokens.verify(fresh[i]!));
        const stats = statsOf(run.samples, run.elapsedMs);
        const failures = run.samples.filter((s) => s.value === undefined).length;
        rows.push(stepRow(`token: ${label}`, stats, failures, ''));
        (perAlgorithm[algorithm] ??= []).push(perCall(stats));
      }
    }
    // The service's own key is Ed25519 (bench/auth.ts).
    const [verifyAlone, verifyLoaded] = perAlgorithm.EdDSA! as [number, number];

    const [oneUser] = await insertUsers(context.pg, 1, 'token cost ');
    const [token] = await auth.tokensFor([oneUser!]);
    await auth.verify(token!);
    const seen = await runLoad('verify, token seen before', VERIFICATIONS, 1, () => auth.verify(token!));
    const seenStats = statsOf(seen.samples, seen.elapsedMs);
    rows.push(
      stepRow(
        'token: verify, token seen before, 1 at once',
        seenStats,
        seen.samples.filter((s) => s.value === undefined).length,
        `, ${signed(perCall(seenStats) - verifyAlone)} against a new EdDSA token`,
      ),
    );

    const accepted = (actor: Promise<unknown>) =>
      actor.then(
        () => true,
        () => false,
      );
    const refused = (run: { samples: { value: boolean }[] }) => run.samples.filter((s) => !s.value).length;
    const cached = await runLoad('authenticate, one user', VERIFICATIONS, 1, () =>
      accepted(authenticate.execute(token!)),
    );
    const cachedStats = statsOf(cached.samples, cached.elapsedMs);
    rows.push(
      stepRow(
        'token: authenticate, token seen, version cached, 1 at once',
        cachedStats,
        refused(cached),
        `, ${signed(perCall(cachedStats) - perCall(seenStats))} over verify of a token seen before`,
      ),
    );

    const strangers = await insertUsers(context.pg, FIRST_SIGHTS, 'token first sight ');
    const strangerTokens = await auth.tokensFor(strangers);
    const firstSight = await runLoad(`authenticate, new user each`, FIRST_SIGHTS, concurrency, (i) =>
      accepted(authenticate.execute(strangerTokens[i]!)),
    );
    const firstSightStats = statsOf(firstSight.samples, firstSight.elapsedMs);
    rows.push(
      stepRow(
        `token: authenticate, version read, ${concurrency} at once`,
        firstSightStats,
        refused(firstSight),
        ` (a new user each call: its token version read from the database), ` +
          `${signed(perCall(firstSightStats) - verifyLoaded)} over verify alone at ${concurrency}`,
      ),
    );

    // Over HTTP, at the bench's concurrency: the public read, then the signed-in one, each with its ceiling.
    const products = await createProducts(context.pg, READERS, 1_000, 'token cost ');
    const cpu = { cpu: context.serviceCpuUs };
    const publicRun = await runLoad(
      'GET /products/:id (service)',
      READS,
      concurrency,
      async (i) =>
        (await http.request('GET', `/api/v1/products/${products[i % products.length]}`)).status === 200 ? 0 : 1,
      cpu,
    );
    const publicCeiling = await runLoad('GET /products/:id (ceiling)', READS, concurrency, (i) =>
      getProduct.execute({ productId: products[i % products.length]! }).then(
        () => 0,
        () => 1,
      ),
    );
    const readers = await insertUsers(context.pg, READERS, 'token reader ');
    const readerTokens = await auth.tokensFor(readers);
    const bearerRun = await runLoad(
      'GET /users/:id/balance (service)',
      READS,
      concurrency,
      async (i) => {
        const path = `/api/v1/users/${readers[i % readers.length]}/balance`;
        return (await http.request('GET', path, undefined, readerTokens[i % readers.length])).status === 200 ? 0 : 1;
      },
      cpu,
    );
    const bearerCeiling = await runLoad('GET /users/:id/balance (ceiling)', READS, concurrency, (i) =>
      actingAs(ceiling, readerTokens[i % readers.length]!, (actor) =>
        getBalance.execute({ actor, userId: readers[i % readers.length]! }),
      ).then(
        () => 0,
        () => 1,
      ),
    );
    const failures = (run: { samples: { value: number }[] }) => run.samples.reduce((sum, s) => sum + s.value, 0);
    const ceilingFailures = failures(publicCeiling) + failures(bearerCeiling);
    const publicStats = statsOf(publicRun.samples, publicRun.elapsedMs);
    const publicCeilingStats = statsOf(publicCeiling.samples, publicCeiling.elapsedMs);
    const bearerStats = statsOf(bearerRun.samples, bearerRun.elapsedMs);
    const bearerCeilingStats = statsOf(bearerCeiling.samples, bearerCeiling.elapsedMs);
    rows.push(
      {
        ...row(
          'http: GET /products/:id, public',
          publicStats,
          failures(publicRun),
          publicCeilingStats,
          `${us(perCall(publicStats))} of the service per request (1/rps)`,
          failures(publicRun) === 0 && failures(publicCeiling) === 0,
          { cpuUs: publicRun.cpuUsPerRequest },
        ),
        perCallUs: perCall(publicStats),
      },
      {
        ...row(
          'http: repeated read, GET /users/:id/balance',
          bearerStats,
          failures(bearerRun),
          bearerCeilingStats,
          `${us(perCall(bearerStats))} per request, ${signed(perCall(bearerStats) - perCall(publicStats))} over ` +
            `the public read (in-process ${signed(perCall(bearerCeilingStats) - perCall(publicCeilingStats))}); ` +
            `${READS} reads by ${READERS} users, each with one token of its own` +
            (ceilingFailures === 0 ? '' : `; ${ceilingFailures} ceiling calls failed`),
          failures(bearerRun) === 0 && failures(bearerCeiling) === 0,
          { cpuUs: bearerRun.cpuUsPerRequest },
        ),
        perCallUs: perCall(bearerStats),
      },
    );
    return rows;
  },
};
