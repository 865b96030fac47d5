import { randomUUID } from 'node:crypto';
import type { EnsureAdmin } from '../../application/auth/ensure-admin.js';
import type { SignUp } from '../../application/auth/sign-up.js';
import type { ChargeBalance } from '../../application/balance/charge-balance.js';
import type { CreateCoupon } from '../../application/coupon/create-coupon.js';
import type { CreateProduct } from '../../application/product/create-product.js';
import { SYSTEM } from '../../application/shared/actor.js';
import type { AuditAction, AuditStamp } from '../../domain/audit/audit-entry.js';
import type { Db } from '../postgres/database.js';

export interface SeedUseCases {
  readonly signUp: SignUp;
  readonly ensureAdmin: EnsureAdmin;
  readonly chargeBalance: ChargeBalance;
  readonly createProduct: CreateProduct;
  readonly createCoupon: CreateCoupon;
}

/** The demo's accounts: the admin has a password of its own, the customers share another (see main). */
export const DEMO_ADMIN_EMAIL = 'admin@shop.test';
const CUSTOMERS = [
  { name: 'Kim Minji', email: 'minji@shop.test' },
  { name: 'Lee Jiho', email: 'jiho@shop.test' },
  { name: 'Park Seoyeon', email: 'seoyeon@shop.test' },
];
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
export interface DemoPasswords {
  readonly admin: string;
  readonly customers: string;
}

export async function seedDemoShopIfEmpty(db: Db, useCases: SeedUseCases, passwords: DemoPasswords): Promise<boolean> {
  const anyUser = await db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (anyUser) return false;

  const actor = SYSTEM;
  // The shop's own actions are audited too, under one request id for the whole seeding.
  const requestId = `seed-${randomUUID()}`;
  const stamp = (action: AuditAction): AuditStamp => ({ action, requestId, traceId: null });
  await useCases.ensureAdmin.execute({ email: DEMO_ADMIN_EMAIL, password: passwords.admin, name: 'Demo admin' });
  for (const [index, { name, email }] of CUSTOMERS.entries()) {
    const user = await useCases.signUp.execute({ name, email, password: passwords.customers });
    await useCases.chargeBalance.execute({ actor, userId: user.id, amount: 100_000 * (index + 1) });
  }
  for (const product of PRODUCTS)
    await useCases.createProduct.execute({ actor, ...product, audit: stamp('product.create') });
  const campaign = { validDays: 30, issueStartsAt: null, issueEndsAt: null };
  await useCases.createCoupon.execute({
    actor,
    audit: stamp('coupon.create'),
    ...campaign,
    name: 'Welcome 10% off',
    discountType: 'PERCENT',
    discountValue: 10,
    totalQuantity: 100,
  });
  await useCases.createCoupon.execute({
    actor,
    audit: stamp('coupon.create'),
    ...campaign,
    name: '5,000 won off',
    discountType: 'FIXED',
    discountValue: 5_000,
    totalQuantity: 10,
  });
  return true;
}
