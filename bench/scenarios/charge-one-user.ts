import type pg from 'pg';
import { cpuSplitUntil, row, runLoad, scaled, statsOf } from '../harness.js';
import { chargeAtLimit } from './charge-one-user.limit.js';
import { type Scenario, actingAs, insertUsers, outcomeOf, outcomeOfCall, tally } from './scenario.js';

const CHARGES = scaled(5_000, 50);

/** A balance charged CHARGES times 1 won from zero: the amount, the last ledger entry and their number. */
async function ledgerOf(pool: pg.Pool, userId: number) {
  const { rows } = await pool.query<{ amount: string; last: string; entries: string }>(
    `SELECT b.amount, (SELECT balance_after FROM balance_ledger WHERE user_id = $1 ORDER BY id DESC LIMIT 1) AS last,
            (SELECT count(*) FROM balance_ledger WHERE user_id = $1) AS entries
     FROM balances b WHERE b.user_id = $1`,
    [userId],
  );
  const stored = rows[0]!;
  const exact =
    Number(stored.amount) === CHARGES && Number(stored.last) === CHARGES && Number(stored.entries) === CHARGES;
  return { ...stored, exact };
}

/** Everyone charges the same user: every charge queues on that user's balance row. */
export const chargeOneUser: Scenario = {
  name: 'charge-one-user',
  description: `${CHARGES} concurrent charges of 1 won on one user`,
  async run(context) {
    const [serviceUser, ceilingUser, limitUser] = await insertUsers(context.pg, 3, 'charge ');
    // The user charges their own balance, with their own token.
    const [serviceToken, ceilingToken] = await context.auth.tokensFor([serviceUser!, ceilingUser!]);
    const service = await runLoad(
      'charge-one-user (service)',
      CHARGES,
      context.concurrency,
      async () =>
        outcomeOf(
          await context.http.request(
            'POST',
            `/api/v1/users/${serviceUser}/balance/charge`,
            { amount: 1 },
            serviceToken,
          ),
          200,
          'CHARGED',
        ),
      { cpu: context.serviceCpuUs },
    );
    const { chargeBalance } = context.ceiling.useCases;
    const ceiling = await runLoad('charge-one-user (ceiling: in-process)', CHARGES, context.concurrency, () =>
      outcomeOfCall(
        actingAs(context.ceiling, ceilingToken!, (actor) =>
          chargeBalance.execute({ actor, userId: ceilingUser!, amount: 1 }),
        ),
        'CHARGED',
      ),
    );

    const limit = await runLoad('charge-one-user (limit: one statement)', CHARGES, context.concurrency, () =>
      chargeAtLimit(context.pg, limitUser!, 1),
    );

    const stored = await ledgerOf(context.pg, serviceUser!);
    const limitStored = await ledgerOf(context.pg, limitUser!);
    const counts = tally(service.samples.map((s) => s.value));
    const ceilingCharged = tally(ceiling.samples.map((s) => s.value)).CHARGED ?? 0;
    const limitCharged = tally(limit.samples.map((s) => s.value)).CHARGED ?? 0;
    const limitExact = limitStored.exact && limitCharged === CHARGES;
    return [
      row(
        'charge-one-user',
        statsOf(service.samples, service.elapsedMs),
        CHARGES - (counts.CHARGED ?? 0),
        statsOf(ceiling.samples, ceiling.elapsedMs),
        `balance ${stored.amount} of ${CHARGES}, ledger ${stored.entries} entries ending at ${stored.last}` +
          (ceilingCharged === CHARGES ? '' : `; the ceiling charged only ${ceilingCharged}`) +
          (limitExact
            ? '; limit exact too'
            : `; limit NOT exact: ${limitCharged} charged, balance ${limitStored.amount}, ` +
              `${limitStored.entries} entries ending at ${limitStored.last}`),
        stored.exact && ceilingCharged === CHARGES && limitExact,
        {
          limit: statsOf(limit.samples, limit.elapsedMs),
          limitTarget: 0.8,
          target: 0.4,
          write: true,
          cpu: cpuSplitUntil(service),
          limitCpu: cpuSplitUntil(limit),
        },
      ),
    ];
  },
};
