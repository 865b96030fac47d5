import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { z } from 'zod';
import type { DiscountType } from '../../src/domain/coupon/coupon.js';
import type { auditEntryView } from '../../src/adapters/http/routes/audit-routes.js';
import type { chargeView, ledgerEntryView } from '../../src/adapters/http/routes/balance-routes.js';
import type { couponView, userCouponView } from '../../src/adapters/http/routes/coupon-routes.js';
import type { orderView } from '../../src/adapters/http/routes/order-routes.js';
import type { productView } from '../../src/adapters/http/routes/product-routes.js';
import type { userView } from '../../src/adapters/http/routes/user-routes.js';
import type { ServiceProcess } from './service-process.js';

/**
 * Test data built through the HTTP API, so a test states only what matters to it and a new required
 * field changes this file alone. `a…` creates a resource and answers it as the API does; `…Body` is a
 * valid request body, for tests that send the request themselves; `…Of` reads one fact back.
 */

// ---------- what the API answers: the routes' own response schemas ----------

export type UserView = z.output<typeof userView>;
export type ChargeView = z.output<typeof chargeView>;
export type LedgerEntryView = z.output<typeof ledgerEntryView>;
export type ProductView = z.output<typeof productView>;
export type CouponView = z.output<typeof couponView>;
export type UserCouponView = z.output<typeof userCouponView>;
export type OrderView = z.output<typeof orderView>;
export type AuditEntryView = z.output<typeof auditEntryView>;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

// ---------- valid request bodies (types, not interfaces: they are also plain records) ----------

export type NewUser = {
  name: string;
};

export type NewProduct = {
  name: string;
  price: number;
  stock: number;
};

export type NewCoupon = {
  name: string;
  discountType: DiscountType;
  discountValue: number;
  totalQuantity: number;
  validDays: number;
  issueStartsAt?: string | null;
  issueEndsAt?: string | null;
};

export type NewOrder = {
  userId: number;
  items: { productId: number; quantity: number }[];
  userCouponId?: number;
};

export const userBody = (fields: Partial<NewUser> = {}): NewUser => ({ name: 'Test user', ...fields });

export const productBody = (fields: Partial<NewProduct> = {}): NewProduct => ({
  name: 'Test product',
  price: 1_000,
  stock: 10,
  ...fields,
});

/** A FIXED campaign of 100 copies valid for 7 days, open for issue at any time. */
export const couponBody = (fields: Partial<NewCoupon> = {}): NewCoupon => ({
  name: 'Test coupon',
  discountType: 'FIXED',
  discountValue: 1_000,
  totalQuantity: 100,
  validDays: 7,
  ...fields,
});

// ---------- the one way builders reach the API ----------

/**
 * The app in this process (through `app.inject`) or a service process of its own (over HTTP), and the
 * bearer token every request carries: an administrator's for set-up, a customer's to act as one.
 */
export type Api =
  | { readonly app: FastifyInstance; readonly token: string }
  | { readonly origin: ServiceProcess['origin']; readonly token: string };

/**
 * Every request of this file goes through here, carrying the Api's token. Fails the test unless the status
 * is `expected`.
 */
async function call<T>(api: Api, method: 'GET' | 'POST' | 'PATCH', url: string, expected: number, body?: object) {
  const headers: Record<string, string> = { authorization: `Bearer ${api.token}` };
  let answer: { status: number; text: string };
  if ('app' in api) {
    const response = await api.app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body }) });
    answer = { status: response.statusCode, text: response.body };
  } else {
    const response = await fetch(`${api.origin}${url}`, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    answer = { status: response.status, text: await response.text() };
  }
  expect(answer.status, `${method} ${url} answered ${answer.text}`).toBe(expected);
  return JSON.parse(answer.text) as T;
}

// ---------- builders ----------

export const aUser = (api: Api, fields: Partial<NewUser> = {}) =>
  call<UserView>(api, 'POST', '/api/v1/admin/users', 201, userBody(fields));

export const aCharge = (api: Api, userId: number, amount: number) =>
  call<ChargeView>(api, 'POST', `/api/v1/users/${userId}/balance/charge`, 200, { amount });

/** A user holding `balance` (1 to 10,000,000), charged in one go. */
export async function aChargedUser(api: Api, balance: number, fields: Partial<NewUser> = {}): Promise<UserView> {
  const user = await aUser(api, fields);
  await aCharge(api, user.id, balance);
  return user;
}

export const aProduct = (api: Api, fields: Partial<NewProduct> = {}) =>
  call<ProductView>(api, 'POST', '/api/v1/admin/products', 201, productBody(fields));

/** A new price, a restock (+) or a correction (−), as an administrator makes it. */
export const anUpdatedProduct = (api: Api, productId: number, changes: { price?: number; stockDelta?: number }) =>
  call<ProductView>(api, 'PATCH', `/api/v1/admin/products/${productId}`, 200, changes);

/** A fresh campaign: the service remembers sold-out campaigns in-process, so tests don't share one. */
export const aCoupon = (api: Api, fields: Partial<NewCoupon> = {}) =>
  call<CouponView>(api, 'POST', '/api/v1/admin/coupons', 201, couponBody(fields));

export const anIssuedCoupon = (api: Api, couponId: number, userId: number) =>
  call<UserCouponView>(api, 'POST', `/api/v1/coupons/${couponId}/issue`, 201, { userId });

/** A fresh campaign issued to `userId`: the copy as the issue route answers it. */
export async function aCouponFor(api: Api, userId: number, fields: Partial<NewCoupon> = {}): Promise<UserCouponView> {
  return anIssuedCoupon(api, (await aCoupon(api, fields)).id, userId);
}

/** A paid order: the user must hold enough and the products enough stock. */
export const anOrder = (api: Api, order: NewOrder) => call<OrderView>(api, 'POST', '/api/v1/orders', 201, order);

// ---------- reading facts back ----------

export const balanceOf = async (api: Api, userId: number) =>
  (await call<{ balance: number }>(api, 'GET', `/api/v1/users/${userId}/balance`, 200)).balance;

/** Newest first, up to 100 entries. */
export const historyOf = async (api: Api, userId: number) =>
  (await call<Page<LedgerEntryView>>(api, 'GET', `/api/v1/users/${userId}/balance/history?limit=100`, 200)).items;

export const stockOf = async (api: Api, productId: number) =>
  (await call<ProductView>(api, 'GET', `/api/v1/products/${productId}`, 200)).stock;

export const issuedQuantityOf = async (api: Api, couponId: number) =>
  (await call<CouponView>(api, 'GET', `/api/v1/coupons/${couponId}`, 200)).issuedQuantity;

/** Newest first, up to 100 copies. */
export const couponsOf = async (api: Api, userId: number) =>
  (await call<Page<UserCouponView>>(api, 'GET', `/api/v1/users/${userId}/coupons?limit=100`, 200)).items;

/** Newest first, up to 100 orders. */
export const ordersOf = async (api: Api, userId: number) =>
  (await call<Page<OrderView>>(api, 'GET', `/api/v1/users/${userId}/orders?limit=100`, 200)).items;

/** The audit log's first page, newest first; `query` is the rest of the query string (`action=…&limit=…`). */
export const auditLogOf = (api: Api, query = '') =>
  call<Page<AuditEntryView>>(api, 'GET', `/api/v1/admin/audit-log${query ? `?${query}` : ''}`, 200);
