import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ChargeBalance } from '../../../application/balance/charge-balance.js';
import type { GetBalance } from '../../../application/balance/get-balance.js';
import type { GetBalanceHistory } from '../../../application/balance/get-balance-history.js';
import {
  LEDGER_ENTRY_TYPES,
  MAX_CHARGE_AMOUNT,
  type Balance,
  type LedgerEntry,
} from '../../../domain/balance/balance.js';
import type { RunIdempotently } from '../../../application/idempotency/run-idempotently.js';
import { actorOf } from '../auth.js';
import { idempotencyHeaders, replyIdempotently } from '../idempotency.js';
import {
  commonErrors,
  pageQuery,
  paginated,
  problemSchema,
  timestamp,
  toPageRequest,
  toPaginated,
  userIdParams,
} from '../schemas.js';

export interface BalanceRoutesOptions {
  runIdempotently: RunIdempotently;
  chargeBalance: ChargeBalance;
  getBalance: GetBalance;
  getBalanceHistory: GetBalanceHistory;
}

const balanceView = z.object({ userId: z.number().int(), balance: z.number().int(), updatedAt: timestamp });
const chargeBody = z.strictObject({ amount: z.number().int().min(1).max(MAX_CHARGE_AMOUNT) });
export const chargeView = z.object({ userId: z.number().int(), balance: z.number().int(), charged: z.number().int() });
export const ledgerEntryView = z.object({
  id: z.number().int(),
  type: z.enum(LEDGER_ENTRY_TYPES),
  amount: z.number().int().describe('The signed change: + for a charge, − for a payment'),
  balanceAfter: z.number().int(),
  orderId: z.number().int().nullable(),
  createdAt: timestamp,
});

const presentBalance = (balance: Balance) => ({
  userId: balance.userId,
  balance: balance.amount,
  updatedAt: balance.updatedAt.toISOString(),
});

const presentLedgerEntry = (entry: LedgerEntry) => ({
  id: entry.id,
  type: entry.type,
  amount: entry.amount,
  balanceAfter: entry.balanceAfter,
  orderId: entry.orderId,
  createdAt: entry.createdAt.toISOString(),
});

export const balanceRoutes: FastifyPluginAsyncZod<BalanceRoutesOptions> = async (
  app,
  { runIdempotently, chargeBalance, getBalance, getBalanceHistory },
) => {
  const tags = ['Balance'];

  app.get(
    '/users/:userId/balance',
    { schema: { tags, params: userIdParams, response: { 200: balanceView, 404: problemSchema, ...commonErrors } } },
    async (request) =>
      presentBalance(await getBalance.execute({ actor: actorOf(request), userId: request.params.userId })),
  );

  app.post(
    '/users/:userId/balance/charge',
    {
      schema: {
        tags,
        params: userIdParams,
        headers: idempotencyHeaders,
        body: chargeBody,
        response: { 200: chargeView, 404: problemSchema, 409: problemSchema, 422: problemSchema, ...commonErrors },
      },
    },
    async (request, reply) =>
      replyIdempotently(request, reply, { runIdempotently, status: 200 }, () =>
        chargeBalance.execute({ actor: actorOf(request), userId: request.params.userId, amount: request.body.amount }),
      ),
  );

  app.get(
    '/users/:userId/balance/history',
    {
      schema: {
        tags,
        params: userIdParams,
        querystring: pageQuery,
        response: { 200: paginated(ledgerEntryView), 404: problemSchema, ...commonErrors },
      },
    },
    async (request) => {
      const page = await getBalanceHistory.execute({
        actor: actorOf(request),
        userId: request.params.userId,
        page: toPageRequest(request.query),
      });
      return toPaginated(page, presentLedgerEntry);
    },
  );
};
