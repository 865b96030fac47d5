import { randomUUID } from 'node:crypto';
import type { AppDependencies } from '../../src/adapters/http/app.js';
import { SYSTEM } from '../../src/application/shared/actor.js';
import type { AuditAction, AuditStamp } from '../../src/domain/audit/audit-entry.js';
import type { Coupon, CouponDraft } from '../../src/domain/coupon/coupon.js';
import type { UserCoupon } from '../../src/domain/coupon/user-coupon.js';
import type { Order, OrderItem } from '../../src/domain/order/order.js';
import type { Product, ProductDraft } from '../../src/domain/product/product.js';
import type { User } from '../../src/domain/user/user.js';

/**
 * Test data built through the use cases, below HTTP, for unit and integration tests: a test states only
 * what matters to it, and a new required field changes this file alone (tests/support/builders.ts is the
 * same over the API). Everything is made as the system, which may do anything.
 */

/** The use cases the builders go through: an in-memory shop or a container's `appDependencies`. */
export type SeedUseCases = Pick<
  AppDependencies,
  'createUser' | 'chargeBalance' | 'createProduct' | 'createCoupon' | 'issueCoupon' | 'placeOrder'
>;

/** An admin action's stamp as the system's own processes give it: a request id of its own, no trace. */
export const systemStamp = (action: AuditAction): AuditStamp => ({
  action,
  requestId: `test-${randomUUID()}`,
  traceId: null,
});

/** A product of 1,000 with 10 in stock. */
const productDraft = (fields: Partial<ProductDraft> = {}): ProductDraft => ({
  name: 'Test product',
  price: 1_000,
  stock: 10,
  ...fields,
});

/** A FIXED campaign of 1,000 off, 100 copies valid for 7 days, open for issue at any time. */
const couponDraft = (fields: Partial<CouponDraft> = {}): CouponDraft => ({
  name: 'Test coupon',
  discountType: 'FIXED',
  discountValue: 1_000,
  totalQuantity: 100,
  validDays: 7,
  issueStartsAt: null,
  issueEndsAt: null,
  ...fields,
});

export interface Seed {
  user(name?: string): Promise<User>;
  /** A user holding `balance` (0 to 10,000,000), charged in one go. */
  chargedUser(balance: number, name?: string): Promise<User>;
  product(fields?: Partial<ProductDraft>): Promise<Product>;
  coupon(fields?: Partial<CouponDraft>): Promise<Coupon>;
  /** A copy of `couponId` issued to `userId`. */
  issued(couponId: number, userId: number): Promise<UserCoupon>;
  /** A fresh campaign issued to `userId`: its copy. */
  couponFor(userId: number, fields?: Partial<CouponDraft>): Promise<UserCoupon>;
  /** A paid order: the user must hold enough and the products enough stock. */
  order(userId: number, items: readonly OrderItem[], userCouponId?: number): Promise<Order>;
}

export function seed(useCases: SeedUseCases): Seed {
  const actor = SYSTEM;
  const made: Seed = {
    user: (name = 'Test user') => useCases.createUser.execute({ actor, name, audit: systemStamp('user.create') }),
    async chargedUser(balance, name) {
      const user = await made.user(name);
      if (balance > 0) await useCases.chargeBalance.execute({ actor, userId: user.id, amount: balance });
      return user;
    },
    product: (fields) =>
      useCases.createProduct.execute({ actor, ...productDraft(fields), audit: systemStamp('product.create') }),
    coupon: (fields) =>
      useCases.createCoupon.execute({ actor, ...couponDraft(fields), audit: systemStamp('coupon.create') }),
    issued: (couponId, userId) => useCases.issueCoupon.execute({ actor, couponId, userId }),
    async couponFor(userId, fields) {
      return made.issued((await made.coupon(fields)).id, userId);
    },
    order: (userId, items, userCouponId) => useCases.placeOrder.execute({ actor, userId, items, userCouponId }),
  };
  return made;
}
