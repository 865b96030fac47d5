import { describe, expect, it } from 'vitest';
import { InMemoryAccounts } from '../../../src/adapters/memory/in-memory-accounts.js';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { TokenVersions } from '../../../src/application/auth/token-versions.js';

/** The in-memory accounts with the reads of token states counted: calls made, and users asked about. */
class CountedAccounts extends InMemoryAccounts {
  reads: number[][] = [];

  override async tokenStatesOf(userIds: readonly number[]) {
    this.reads.push([...userIds]);
    return super.tokenStatesOf(userIds);
  }
}

function setUp(users: number) {
  const store = new InMemoryStore();
  for (let id = 1; id <= users; id++)
    store.state.users.set(id, { id, name: `user ${id}`, role: 'CUSTOMER', email: null, createdAt: new Date(0) });
  store.state.tokenVersions.set(2, 5);
  const clock = new ManualClock('2026-12-06T03:00:00.000Z');
  const accounts = new CountedAccounts(store, clock);
  return { accounts, clock, versions: new TokenVersions(accounts, clock) };
}

describe('TokenVersions', () => {
  it('reads the states of users first seen at the same moment in one query', async () => {
    const { accounts, versions } = setUp(3);

    const states = await Promise.all([1, 2, 3, 4, 2].map((userId) => versions.current(userId)));

    expect(states.map((state) => state?.version)).toEqual([0, 5, 0, undefined, 5]);
    expect(accounts.reads).toEqual([[1, 2, 3, 4]]);
  });

  it('reads again, together, the users whose remembered state has grown old', async () => {
    const { accounts, clock, versions } = setUp(3);
    await Promise.all([1, 2, 3].map((userId) => versions.current(userId)));
    clock.advance(499);
    await Promise.all([1, 2].map((userId) => versions.current(userId)));
    clock.advance(1);

    await expect(Promise.all([1, 2].map((userId) => versions.current(userId)))).resolves.toHaveLength(2);

    expect(accounts.reads).toEqual([
      [1, 2, 3],
      [1, 2],
    ]);
  });

  it('fails the requests of a batch whose read fails, and reads them afresh after', async () => {
    const { accounts, versions } = setUp(2);
    const tokenStatesOf = accounts.tokenStatesOf.bind(accounts);
    accounts.tokenStatesOf = () => Promise.reject(new Error('connection lost'));
    const failed = Promise.all([1, 2].map((userId) => versions.current(userId)));
    await expect(failed).rejects.toThrow('connection lost');

    accounts.tokenStatesOf = tokenStatesOf;
    await expect(Promise.all([1, 2].map((userId) => versions.current(userId)))).resolves.toEqual([
      { version: 0, notBefore: null },
      { version: 5, notBefore: null },
    ]);
  });
});
