import type { ChargeBalance } from '../../application/balance/charge-balance.js';
import type { CreateCoupon } from '../../application/coupon/create-coupon.js';
import type { CreateProduct } from '../../application/product/create-product.js';
import { UNRESTRICTED } from '../../application/shared/actor.js';
import type { CreateUser } from '../../application/user/create-user.js';
import type { Db } from '../postgres/database.js';

export interface SeedUseCases {
  readonly createUser: CreateUser;
  readonly chargeBalance: ChargeBalance;
  readonly createProduct: CreateProduct;
  readonly createCoupon: CreateCoupon;
}

const USERS = ['Kim Minji', 'Lee Jiho', 'Park Seoyeon'];
const PRODUCTS = [
  { name: 'Americano beans 1kg', price: 28_000, stock: 120 },
  { name: 'Ceramic mug', price: 12_000, stock: 300 },
  { name: 'Hand grinder', price: 89_000, stock: 40 },
  { name: 'Paper filters (100)', price: 4_500, stock: 1_000 },
  { name: 'Gooseneck kettle', price: 64_000, stock: 25 },
  { name: 'Cold brew bottle', price: 19_000, stock: 80 },
];

/**
 * Fills an empty database with a small demo shop, through the use cases so it obeys every rule real
 * traffic does. A database that already has users is left alone, so running it twice adds nothing.
 */
export async function seedDemoShopIfEmpty(db: Db, useCases: SeedUseCases): Promise<boolean> {
  const anyUser = await db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (anyUser) return false;

  const actor = UNRESTRICTED;
  for (const [index, name] of USERS.entries()) {
    const user = await useCases.createUser.execute({ actor, name });
    await useCases.chargeBalance.execute({ actor, userId: user.id, amount: 100_000 * (index + 1) });
  }
  for (const product of PRODUCTS) await useCases.createProduct.execute({ actor, ...product });
  const campaign = { validDays: 30, issueStartsAt: null, issueEndsAt: null };
  await useCases.createCoupon.execute({
    actor,
    ...campaign,
    name: 'Welcome 10% off',
    discountType: 'PERCENT',
    discountValue: 10,
    totalQuantity: 100,
  });
  await useCases.createCoupon.execute({
    actor,
    ...campaign,
    name: '5,000 won off',
    discountType: 'FIXED',
    discountValue: 5_000,
    totalQuantity: 10,
  });
  return true;
}
