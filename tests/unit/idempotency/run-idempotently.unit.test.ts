import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { DomainError } from '../../../src/domain/shared/domain-error.js';
import { inMemoryShop } from '../../support/in-memory.js';
import { seed } from '../../support/seed.js';

const actor = SYSTEM;
const keepBusinessErrors = (error: unknown) =>
  error instanceof DomainError && error.code !== 'INVALID_REQUEST'
    ? { status: 409, body: { code: error.code } }
    : undefined;

async function setup() {
  const s = inMemoryShop('2026-11-24T03:00:00.000Z');
  const user = await seed(s).user();
  const charge = (amount: number) => async () => ({
    status: 200,
    body: await s.chargeBalance.execute({ actor, userId: user.id, amount }),
  });
  const request = (key: string, requestHash = 'h1', route = 'POST /charge') => ({
    userId: user.id,
    key,
    route,
    requestHash,
  });
  const balance = async () => (await s.getBalance.execute({ actor, userId: user.id })).amount;
  return { s, charge, request, balance };
}

describe('RunIdempotently', () => {
  it('runs the first request and replays its answer to a retry, with one effect', async () => {
    const { s, charge, request, balance } = await setup();
    const first = await s.runIdempotently.execute(request('k'), charge(500), keepBusinessErrors);
    const retry = await s.runIdempotently.execute(request('k'), charge(500), keepBusinessErrors);

    expect(first.replayed).toBe(false);
    expect(retry).toEqual({ response: first.response, replayed: true });
    expect(await balance()).toBe(500);
  });

  it('refuses the key for another body or another route', async () => {
    const { s, charge, request } = await setup();
    await s.runIdempotently.execute(request('k'), charge(500), keepBusinessErrors);
    await expect(s.runIdempotently.execute(request('k', 'h2'), charge(600), keepBusinessErrors)).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
    await expect(
      s.runIdempotently.execute(request('k', 'h1', 'POST /other'), charge(500), keepBusinessErrors),
    ).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
  });

  it('keeps a business error, and its writes are undone', async () => {
    const { s, request, balance } = await setup();
    const failing = async () => {
      await s.chargeBalance.execute({ actor, userId: 1, amount: 700 });
      throw new (class extends DomainError {
        readonly code = 'SOMETHING_REFUSED';
      })('no');
    };
    const first = await s.runIdempotently.execute(request('k'), failing, keepBusinessErrors);
    const retry = await s.runIdempotently.execute(request('k'), failing, keepBusinessErrors);

    expect(first).toEqual({ response: { status: 409, body: { code: 'SOMETHING_REFUSED' } }, replayed: false });
    expect(retry.replayed).toBe(true);
    expect(await balance()).toBe(0);
  });

  it('keeps nothing for an error it declines, so a retry runs afresh', async () => {
    const { s, charge, request, balance } = await setup();
    await expect(s.runIdempotently.execute(request('k'), charge(0), keepBusinessErrors)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    const retry = await s.runIdempotently.execute(request('k'), charge(300), keepBusinessErrors);
    expect(retry.replayed).toBe(false);
    expect(await balance()).toBe(300);
  });

  it('keeps answers for 24 hours, then lets the key run afresh', async () => {
    const { s, charge, request, balance } = await setup();
    await s.runIdempotently.execute(request('k'), charge(100), keepBusinessErrors);
    s.clock.advance(24 * 3_600_000 - 1);
    expect((await s.runIdempotently.execute(request('k'), charge(100), keepBusinessErrors)).replayed).toBe(true);
    s.clock.advance(2);
    expect((await s.runIdempotently.execute(request('k'), charge(100), keepBusinessErrors)).replayed).toBe(false);
    expect(await balance()).toBe(200);
  });
});
