import type { ChargeBalance } from '../../application/balance/charge-balance.js';
import { UNRESTRICTED } from '../../application/shared/actor.js';
import type { CreateUser } from '../../application/user/create-user.js';
import type { Db } from '../postgres/database.js';

export interface SeedUseCases {
  readonly createUser: CreateUser;
  readonly chargeBalance: ChargeBalance;
}

/**
 * Fills an empty database with a small demo shop, through the use cases so it obeys every rule real
 * traffic does. A database that already has users is left alone, so running it twice adds nothing.
 */
export async function seedDemoShopIfEmpty(db: Db, { createUser, chargeBalance }: SeedUseCases): Promise<boolean> {
  const anyUser = await db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (anyUser) return false;

  const names = ['Kim Minji', 'Lee Jiho', 'Park Seoyeon'];
  for (const [index, name] of names.entries()) {
    const user = await createUser.execute({ actor: UNRESTRICTED, name });
    await chargeBalance.execute({ actor: UNRESTRICTED, userId: user.id, amount: 100_000 * (index + 1) });
  }
  return true;
}
