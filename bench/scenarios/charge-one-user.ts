import { row, runLoad, statsOf } from '../harness.js';
import { type Scenario, inTransaction, insertUsers, outcomeOf, tally } from './scenario.js';

const CHARGES = 5_000;

/** Everyone charges the same user: every charge queues on that user's balance row. */
export const chargeOneUser: Scenario = {
  name: 'charge-one-user',
  description: `${CHARGES} concurrent charges of 1 won on one user`,
  async run(context) {
    const [serviceUser, ceilingUser] = await insertUsers(context.pg, 2, 'charge ');
    const service = await runLoad('charge-one-user (service)', CHARGES, context.concurrency, async () =>
      outcomeOf(
        await context.http.request('POST', `/api/v1/users/${serviceUser}/balance/charge`, { amount: 1 }),
        200,
        'CHARGED',
      ),
    );
    // The SQL ChargeBalance runs through the Pg adapters: lock the row, then the balance and its ledger entry in one statement.
    const ceiling = await runLoad('charge-one-user (ceiling: pg)', CHARGES, context.concurrency, async () => {
      await inTransaction(context.pg, async (client) => {
        const { rows } = await client.query<{ amount: string }>(
          'SELECT * FROM balances WHERE user_id = $1 FOR UPDATE',
          [ceilingUser],
        );
        const after = Number(rows[0]!.amount) + 1;
        const now = new Date();
        await client.query(
          `WITH updated AS (UPDATE balances SET amount = $1, updated_at = $2 WHERE user_id = $3 RETURNING user_id)
           INSERT INTO balance_ledger (user_id, type, amount, balance_after, order_id, created_at)
           SELECT user_id, 'CHARGE', 1, $1, NULL, $2 FROM updated RETURNING *`,
          [after, now, ceilingUser],
        );
      });
      return 'CHARGED';
    });

    const { rows } = await context.pg.query<{ amount: string; last: string; entries: string }>(
      `SELECT b.amount, (SELECT balance_after FROM balance_ledger WHERE user_id = $1 ORDER BY id DESC LIMIT 1) AS last,
              (SELECT count(*) FROM balance_ledger WHERE user_id = $1) AS entries
       FROM balances b WHERE b.user_id = $1`,
      [serviceUser],
    );
    const stored = rows[0]!;
    const counts = tally(service.samples.map((s) => s.value));
    const exact =
      Number(stored.amount) === CHARGES && Number(stored.last) === CHARGES && Number(stored.entries) === CHARGES;
    return [
      row(
        'charge-one-user',
        statsOf(service.samples, service.elapsedMs),
        CHARGES - (counts.CHARGED ?? 0),
        statsOf(ceiling.samples, ceiling.elapsedMs),
        `balance ${stored.amount} of ${CHARGES}, ledger ${stored.entries} entries ending at ${stored.last}`,
        exact,
      ),
    ];
  },
};
