import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  aChargedUser,
  aCoupon,
  aProduct,
  aUser,
  anIssuedCoupon,
  anOrder,
  couponBody,
  productBody,
  userBody,
} from '../support/builders.js';
import { bearer, useTestApp } from '../support/test-app.js';

const t = useTestApp();

const API = '/api/v1';
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MiB = 1_048_576;

type Method = 'GET' | 'POST' | 'PATCH';

/** Shows as `label` in a counterexample, instead of an object full of functions. */
const named = <T extends object>(label: string, value: T): T =>
  Object.assign(value, { [fc.toStringMethod]: () => label });

/** The shop the hostile requests aim at: real ids, so only the hostile part of a request can be wrong. */
interface Shop {
  userId: number;
  otherUserId: number;
  productId: number;
  couponId: number;
  orderId: number;
}
let shop: Shop;

beforeAll(async () => {
  const { id: userId } = await aChargedUser(t.api, 50_000, { name: 'Hostile target' });
  const { id: otherUserId } = await aUser(t.api, { name: 'Bystander' });
  const product = await aProduct(t.api, { name: 'Target', price: 1_000, stock: 10 });
  const coupon = await aCoupon(t.api, {
    name: 'Target',
    discountType: 'FIXED',
    discountValue: 500,
    totalQuantity: 100,
    validDays: 30,
  });
  await anIssuedCoupon(t.api, coupon.id, userId);
  const order = await anOrder(t.api, { userId, items: [{ productId: product.id, quantity: 1 }] });
  shop = { userId, otherUserId, productId: product.id, couponId: coupon.id, orderId: order.orderId };
});

/** Everything a request could have changed, read with plain SQL. */
async function state(): Promise<Record<string, number>> {
  const { userId, productId, couponId } = shop;
  const { rows } = await sql<Record<string, string | number>>`
    SELECT
      (SELECT amount FROM balances WHERE user_id = ${userId}) AS balance,
      (SELECT count(*) FROM balance_ledger WHERE user_id = ${userId}) AS history,
      (SELECT stock FROM products WHERE id = ${productId}) AS stock,
      (SELECT price FROM products WHERE id = ${productId}) AS price,
      (SELECT sum(issued) FROM coupon_stripes WHERE coupon_id = ${couponId}) AS issued,
      (SELECT count(*) FROM user_coupons WHERE used_at IS NULL) AS available_copies,
      (SELECT count(*) FROM users) AS users,
      (SELECT count(*) FROM products) AS products,
      (SELECT count(*) FROM stock_adjustments) AS stock_adjustments,
      (SELECT count(*) FROM coupons) AS coupons,
      (SELECT count(*) FROM user_coupons) AS user_coupons,
      (SELECT count(*) FROM orders) AS orders,
      (SELECT count(*) FROM balance_ledger) AS ledger,
      (SELECT count(*) FROM idempotency_keys) AS idempotency_keys,
      (SELECT count(*) FROM data_platform_outbox WHERE status = 'PENDING' AND attempts = 0) AS fresh_deliveries`.execute(
    t.database.db,
  );
  return Object.fromEntries(Object.entries(rows[0]!).map(([key, value]) => [key, Number(value)]));
}

let before: Record<string, number>;
beforeEach(async () => {
  before = await state();
});
const expectNothingChanged = async () => expect(await state()).toEqual(before);

/**
 * The routes anyone may call (API.md, "Authentication and authorization"): the operational ones outside
 * /api/v1, and reading products and coupons. Everything else needs a token.
 */
function isPublic(method: InjectOptions['method'], url: string): boolean {
  if (!url.startsWith(`${API}/`)) return true;
  if (method !== 'GET') return false;
  return /^\/api\/v1\/(products(\/[^/?#]*)?|coupons\/[^/?#]+)\/?([?#]|$)/.test(url);
}

/**
 * As the administrator, who passes every authorization check, so each request meets the check under test;
 * a public route is called without a token, as anyone may.
 */
function send(options: InjectOptions): Promise<LightMyRequestResponse> {
  if (typeof options.url !== 'string') throw new Error('send takes its URL as a string');
  if (isPublic(options.method, options.url)) return t.app.inject(options);
  return t.app.inject({ ...options, headers: { ...bearer(t.adminToken), ...options.headers } });
}

/** Any error: 4xx, RFC 9457 problem+json, `status` the HTTP status; a 400 is INVALID_REQUEST with field errors. */
function expectProblemShape(response: LightMyRequestResponse): Record<string, unknown> {
  expect(response.statusCode, response.body).toBeGreaterThanOrEqual(400);
  expect(response.statusCode, response.body).toBeLessThan(500);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.json<Record<string, unknown>>();
  expect(body).toMatchObject({
    type: expect.stringMatching(/\/problems\/[a-z-]+$/),
    title: expect.any(String),
    status: response.statusCode,
    detail: expect.any(String),
    code: expect.stringMatching(/^[A-Z_]+$/),
  });
  if (response.statusCode === 400) {
    expect(body.code).toBe('INVALID_REQUEST');
    expect(body.errors).toEqual(expect.arrayContaining([{ path: expect.any(String), message: expect.any(String) }]));
    for (const error of body.errors as unknown[])
      expect(error).toEqual({ path: expect.any(String), message: expect.any(String) });
  }
  return body;
}

/** 400 INVALID_REQUEST naming `path` among its errors. */
function expectInvalid(response: LightMyRequestResponse, path: string): void {
  expect(response.statusCode, response.body).toBe(400);
  const body = expectProblemShape(response);
  expect(body.errors, response.body).toEqual(expect.arrayContaining([{ path, message: expect.any(String) }]));
}

/** Input that may be valid by chance: never a 5xx, and any error is a well-formed problem. */
function expectNoServerError(response: LightMyRequestResponse): void {
  expect(response.statusCode, response.body).toBeLessThan(500);
  if (response.statusCode >= 400) expectProblemShape(response);
}

// ---------- JSON text with tokens JSON.stringify can't write (-0, 1e400, 2^53 + 1) ----------

class RawJson {
  constructor(readonly text: string) {}
}

function jsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, inner]) => `${JSON.stringify(key)}:${jsonText(inner)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const parses = (text: string) => {
  try {
    JSON.parse(text.replace(/^\uFEFF/, ''));
    return true;
  } catch {
    return false;
  }
};

// ---------- arbitraries of invalid values ----------

const nest = (depth: number, asArray: boolean): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = asArray ? [value] : { a: value };
  return value;
};
const deep = fc
  .tuple(fc.oneof(fc.constant(1_000), fc.integer({ min: 1, max: 1_000 })), fc.boolean())
  .map(([depth, asArray]) => nest(depth, asArray));
const deepArray = fc.oneof(fc.constant(1_000), fc.integer({ min: 1, max: 1_000 })).map((depth) => nest(depth, true));

const notANumber = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.maxSafeInteger().map(String),
  fc.constantFrom('1', '1e3', 'NaN', 'Infinity', '-0', ' 1', ''),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  deep,
);

/** Anything but a whole number in min..max, as the JSON body carries it. */
function outside(min: number, max: number): fc.Arbitrary<unknown> {
  const isIn = (value: number) => Number.isSafeInteger(value) && value >= min && value <= max;
  const edges = [
    min - 1,
    max + 1,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 53),
    1e308,
    -1e308,
    Number.MIN_VALUE,
    min + 0.5,
    max - 0.5,
  ].filter((v) => !isIn(v));
  const raw = [
    '1e400',
    '-1e400',
    '9007199254740993',
    '-9007199254740993',
    ...(min > 0 ? ['-0', '1e-400', '-0.0'] : []),
  ];
  return fc.oneof(
    fc.constantFrom(...edges),
    fc.maxSafeInteger().filter((v) => !isIn(v)),
    // NaN and ±Infinity reach the server as null: still not a number.
    fc.double().filter((v) => !isIn(v)),
    fc.constantFrom(...raw).map((text) => new RawJson(text)),
    notANumber,
  );
}
const invalidId = outside(1, MAX_SAFE);

const codePoints = (text: string) => [...text].length;
const whitespace = fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\u2003', '\u3000', '\u2028', '\ufeff');
const invalidName = (max: number) =>
  fc.oneof(
    fc.constant(''),
    fc.string({ unit: whitespace, minLength: 1, maxLength: 12 }),
    fc
      .string({ unit: 'binary', minLength: max + 1, maxLength: max + 30 })
      .filter((name) => codePoints(name.trim()) > max),
    fc.constant('😀'.repeat(max + 1)),
    fc.oneof(
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 2 }),
      fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
      deep,
    ),
  );

const invalidTimestamp = fc.oneof(
  fc.constantFrom(
    '',
    'now',
    '2026-11-24',
    '2026-11-24T07:00:00',
    '2026-11-24T07:00Z',
    '2026-11-24 07:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-11-24T07:60:00Z',
    '2026-11-24T07:00:00+25:00',
    '24/11/2026',
    '1764000000000',
  ),
  fc.date({ noInvalidDate: true }).map((date) => date.toString()),
  fc.string().filter((text) => !/^\d{4}-\d\d-\d\dT/.test(text)),
  fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }), deep),
);

const KNOWN_KEYS = new Set([
  'amount',
  'userId',
  'items',
  'productId',
  'quantity',
  'userCouponId',
  'name',
  'price',
  'stock',
  'stockDelta',
  'discountType',
  'discountValue',
  'totalQuantity',
  'validDays',
  'issueStartsAt',
  'issueEndsAt',
]);
/** Keys the JSON parser itself refuses (prototype poisoning) are covered on their own below. */
const unknownKey = fc
  .oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('id', 'balance', 'admin', 'toString', 'hasOwnProperty', 'AMOUNT', 'amount ', ''),
  )
  .filter((key) => !KNOWN_KEYS.has(key) && !['__proto__', 'constructor', 'prototype'].includes(key));
const extraField = fc.tuple(unknownKey, fc.oneof(fc.jsonValue({ maxDepth: 2 }), deep));

const printableAscii = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
const validKey = fc.string({ unit: printableAscii, minLength: 1, maxLength: 64 });
const badKeyChar = fc
  .oneof(fc.integer({ min: 0, max: 0x1f }), fc.constant(0x7f), fc.integer({ min: 0x80, max: 0x2ffff }))
  .filter((code) => code < 0xd800 || code > 0xdfff)
  .map((code) => String.fromCodePoint(code));
const invalidKey = fc.oneof(
  fc.constant(''),
  fc.string({ unit: printableAscii, minLength: 256, maxLength: 600 }),
  fc
    .tuple(
      fc.string({ unit: printableAscii, maxLength: 20 }),
      badKeyChar,
      fc.string({ unit: printableAscii, maxLength: 20 }),
    )
    .map((parts) => parts.join('')),
  fc.constantFrom('ключ', 'clé', 'key\u0000', 'k\u00e9y'),
);

// ---------- the routes ----------

interface Corruption {
  readonly body: unknown;
  /** The error the 400 must name. */
  readonly path: string;
}

interface BodyRoute {
  readonly name: string;
  readonly method: 'POST' | 'PATCH';
  readonly url: () => string;
  /** A body that would be accepted: the corruptions start from it. */
  readonly valid: () => Record<string, unknown>;
  /** Corruptions of single fields, beyond the generic ones (wrong value, missing, unknown field). */
  readonly fields: Record<string, fc.Arbitrary<unknown>>;
  readonly required: readonly string[];
  readonly extra?: () => fc.Arbitrary<Corruption>;
  readonly idempotent?: boolean;
}

const coupon = couponBody({ name: 'Hostile', discountValue: 100, totalQuantity: 10 });
const orderLine = () => ({ productId: shop.productId, quantity: 1 });
const isoPair = fc
  .tuple(
    fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
    fc.integer({ min: 0, max: 10 ** 10 }),
  )
  .map(([end, back]) => [new Date(end.getTime() - back).toISOString(), end.toISOString()] as const);

const bodyRoutes: readonly BodyRoute[] = [
  {
    name: 'POST /users/{userId}/balance/charge',
    method: 'POST',
    url: () => `/users/${shop.userId}/balance/charge`,
    valid: () => ({ amount: 1 }),
    fields: { amount: outside(1, 10_000_000) },
    required: ['amount'],
    idempotent: true,
  },
  {
    name: 'POST /coupons/{couponId}/issue',
    method: 'POST',
    url: () => `/coupons/${shop.couponId}/issue`,
    valid: () => ({ userId: shop.otherUserId }),
    fields: { userId: invalidId },
    required: ['userId'],
    idempotent: true,
  },
  {
    name: 'POST /orders',
    method: 'POST',
    url: () => '/orders',
    valid: () => ({ userId: shop.userId, items: [orderLine()] }),
    fields: {
      userId: invalidId,
      items: fc.oneof(
        fc.constant([]),
        fc
          .integer({ min: 51, max: 70 })
          .map((n) => Array.from({ length: n }, (_, i) => ({ productId: i + 1, quantity: 1 }))),
        fc.oneof(
          fc.string(),
          fc.integer(),
          fc.constant(null),
          fc.boolean(),
          fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }),
        ),
      ),
      userCouponId: invalidId,
    },
    required: ['userId', 'items'],
    idempotent: true,
    extra: () =>
      fc.oneof(
        invalidId.map((productId) => ({
          body: { userId: shop.userId, items: [{ ...orderLine(), productId }] },
          path: 'items.0.productId',
        })),
        outside(1, 1_000).map((quantity) => ({
          body: { userId: shop.userId, items: [{ ...orderLine(), quantity }] },
          path: 'items.0.quantity',
        })),
        fc.constantFrom('productId', 'quantity').map((field) => {
          const { [field as 'productId']: _gone, ...line } = orderLine();
          return { body: { userId: shop.userId, items: [line] }, path: `items.0.${field}` };
        }),
        fc
          .oneof(fc.integer(), fc.string(), fc.constant(null), deepArray)
          .map((line) => ({ body: { userId: shop.userId, items: [line] }, path: 'items.0' })),
        extraField.map(([key, value]) => ({
          body: { userId: shop.userId, items: [{ ...orderLine(), [key]: value }] },
          path: `items.0.${key}`,
        })),
        fc.uniqueArray(fc.integer({ min: 1, max: 10 ** 6 }), { minLength: 1, maxLength: 49 }).chain((ids) =>
          fc.nat({ max: ids.length - 1 }).map((dup) => ({
            body: { userId: shop.userId, items: [...ids, ids[dup]].map((productId) => ({ productId, quantity: 1 })) },
            path: `items.${ids.length}.productId`,
          })),
        ),
      ),
  },
  {
    name: 'POST /admin/users',
    method: 'POST',
    url: () => '/admin/users',
    valid: () => userBody({ name: 'Hostile' }),
    fields: { name: invalidName(100) },
    required: ['name'],
  },
  {
    name: 'POST /admin/products',
    method: 'POST',
    url: () => '/admin/products',
    valid: () => productBody({ name: 'Hostile', price: 1, stock: 0 }),
    fields: { name: invalidName(200), price: outside(1, 100_000_000), stock: outside(0, 1_000_000_000) },
    required: ['name', 'price', 'stock'],
  },
  {
    name: 'PATCH /admin/products/{productId}',
    method: 'PATCH',
    url: () => `/admin/products/${shop.productId}`,
    valid: () => ({ price: 2_000, stockDelta: 5 }),
    fields: { price: outside(1, 100_000_000), stockDelta: outside(-1_000_000_000, 1_000_000_000) },
    required: [],
    extra: () => fc.constant({ body: {}, path: '' }),
  },
  {
    name: 'POST /admin/coupons',
    method: 'POST',
    url: () => '/admin/coupons',
    valid: () => ({ ...coupon }),
    fields: {
      name: invalidName(200),
      discountType: fc.oneof(
        fc.constantFrom('fixed', 'percent', 'Fixed', ' FIXED', 'FIXED ', 'PERCENTAGE', ''),
        fc.string().filter((type) => type !== 'FIXED' && type !== 'PERCENT'),
        fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.constant('FIXED'), { maxLength: 2 })),
      ),
      discountValue: outside(1, 10_000_000),
      totalQuantity: outside(1, 10_000_000),
      validDays: outside(1, 365),
      issueStartsAt: invalidTimestamp,
      issueEndsAt: invalidTimestamp,
    },
    required: ['name', 'discountType', 'discountValue', 'totalQuantity', 'validDays'],
    extra: () =>
      fc.oneof(
        fc.integer({ min: 101, max: 10_000_000 }).map((discountValue) => ({
          body: { ...coupon, discountType: 'PERCENT', discountValue },
          path: 'discountValue',
        })),
        isoPair.map(([issueEndsAt, issueStartsAt]) => ({
          body: { ...coupon, issueStartsAt, issueEndsAt },
          path: 'issueEndsAt',
        })),
      ),
  },
];
for (const route of bodyRoutes) named(route.name, route);

const retryRoute = named('POST /admin/data-platform/deliveries/{eventId}/retry', {
  method: 'POST',
  url: () => '/admin/data-platform/deliveries/00000000-0000-4000-8000-000000000000/retry',
} as const);

/** One thing wrong with an otherwise valid body: a field's value, a missing field, an unknown field, or the body's shape. */
function corruptions(route: BodyRoute): fc.Arbitrary<Corruption> {
  const valid = route.valid();
  const options: fc.Arbitrary<Corruption>[] = [
    ...Object.entries(route.fields).map(([field, values]) =>
      values.map((value) => ({ body: { ...valid, [field]: value }, path: field })),
    ),
    extraField.map(([key, value]) => ({ body: { ...valid, [key]: value }, path: key })),
    fc
      .oneof(
        fc.constant(null),
        fc.string(),
        fc.double(),
        fc.boolean(),
        fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
        fc.constant([valid]),
        deepArray,
      )
      .map((body) => ({ body, path: '' })),
  ];
  if (route.required.length > 0) {
    options.push(
      fc.constantFrom(...route.required).map((field) => {
        const { [field]: _gone, ...rest } = valid;
        return { body: rest, path: field };
      }),
    );
  }
  if (route.extra) options.push(route.extra());
  return fc.oneof(...options);
}

const jsonRequest = (route: BodyRoute, text: string | Buffer, headers: Record<string, string> = {}): InjectOptions => ({
  method: route.method,
  url: `${API}${route.url()}`,
  headers: { 'content-type': 'application/json', ...headers },
  payload: text,
});

const routeNames = bodyRoutes.map((route) => route.name);
const byName = (name: string) => bodyRoutes.find((route) => route.name === name)!;

describe('hostile bodies on every write route', () => {
  it('answers 400 INVALID_REQUEST naming the field for one wrong field, missing field, unknown field or wrong shape, and changes nothing', async () => {
    const cases = fc
      .constantFrom(...routeNames)
      .chain((name) =>
        fc.tuple(
          fc.constant(byName(name)),
          corruptions(byName(name)),
          byName(name).idempotent ? fc.option(validKey, { nil: undefined }) : fc.constant(undefined),
        ),
      );
    await fc.assert(
      fc.asyncProperty(cases, async ([route, { body, path }, key]) => {
        expectInvalid(
          await send(jsonRequest(route, jsonText(body), key === undefined ? {} : { 'idempotency-key': key })),
          path,
        );
      }),
      { numRuns: 300 },
    );
    await expectNothingChanged();
  });

  it('answers 400 INVALID_REQUEST for JSON text that does not parse, on every route that takes a body', async () => {
    const routes = [...bodyRoutes, retryRoute];
    const validText = fc.constantFrom(...bodyRoutes).map((route) => JSON.stringify(route.valid()));
    const broken = fc.oneof(
      fc.constantFrom(
        '',
        ' ',
        '{',
        '}',
        '{"amount":}',
        "{'amount':1}",
        '{"amount":1,}',
        'NaN',
        'undefined',
        '{"amount":NaN}',
        '{"amount":Infinity}',
        '{"amount":0x10}',
        '{"amount":01}',
        '{"amount":.5}',
        '{"amount":+1}',
        '\u0000',
        '{"a":1}{"b":2}',
        '[1,]',
        '{"amount":1}garbage',
        '{"amount":"\u0001"}',
      ),
      fc.string({ unit: 'binary', maxLength: 60 }),
      validText.chain((text) => fc.nat({ max: text.length - 1 }).map((end) => text.slice(0, end))),
      fc
        .tuple(validText, fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }))
        .map(([text, at, insert]) => text.slice(0, at % text.length) + insert + text.slice(at % text.length)),
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        broken.filter((text) => !parses(text)),
        async (route, text) => {
          expectInvalid(
            await send({
              method: route.method,
              url: `${API}${route.url()}`,
              headers: { 'content-type': 'application/json' },
              payload: text,
            }),
            '',
          );
        },
      ),
      { numRuns: 300 },
    );
    await expectNothingChanged();
  });

  it('answers 400 INVALID_REQUEST for prototype-poisoning keys at any depth', async () => {
    const poison = fc.constantFrom('"__proto__":{"isAdmin":true}', '"constructor":{"prototype":{"isAdmin":true}}');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...bodyRoutes), poison, fc.nat({ max: 50 }), async (route, member, depth) => {
        const valid = JSON.stringify(route.valid());
        const nested = `${'{"a":'.repeat(depth)}{${member}}${'}'.repeat(depth)}`;
        const body = depth === 0 ? `{${member},${valid.slice(1)}` : `${valid.slice(0, -1)},"a":${nested}}`;
        expectInvalid(await send(jsonRequest(route, body)), '');
      }),
      { numRuns: 100 },
    );
    await expectNothingChanged();
  });

  it('answers 413 PAYLOAD_TOO_LARGE for a body over 1 MiB, valid JSON or not', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<BodyRoute | typeof retryRoute>(...bodyRoutes, retryRoute),
        fc.integer({ min: MiB + 1, max: MiB + 200_000 }),
        fc.boolean(),
        async (route, size, asJson) => {
          const valid = 'valid' in route ? JSON.stringify(route.valid()) : '{}';
          const text = asJson
            ? `${valid.slice(0, -1)}${valid.length > 2 ? ',' : ''}"padding":"${'x'.repeat(size)}"}`
            : '['.repeat(size);
          const response = await send({
            method: route.method,
            url: `${API}${route.url()}`,
            headers: { 'content-type': 'application/json' },
            payload: text,
          });
          expect(response.statusCode).toBe(413);
          expect(expectProblemShape(response).code).toBe('PAYLOAD_TOO_LARGE');
        },
      ),
      { numRuns: 20 },
    );
    await expectNothingChanged();
  });

  it('answers 400 for nesting far past any sane depth, without exhausting the stack', async () => {
    for (const depth of [10_000, 100_000, 400_000]) {
      for (const text of [
        '['.repeat(depth) + ']'.repeat(depth),
        `{"amount":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
      ]) {
        if (text.length > MiB) continue;
        expectInvalid(
          await send(jsonRequest(byName('POST /users/{userId}/balance/charge'), text)),
          text.startsWith('[') ? '' : 'amount',
        );
      }
    }
    await expectNothingChanged();
  });

  it('answers 415 UNSUPPORTED_MEDIA_TYPE for a valid body under any media type but JSON, and changes nothing', async () => {
    const token = fc.string({
      unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-+.'),
      minLength: 1,
      maxLength: 12,
    });
    const mediaType = fc
      .oneof(
        fc.constantFrom(
          'text/plain',
          'text/plain; charset=utf-8',
          'text/html',
          'application/xml',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/octet-stream',
          'image/png',
          '*/*',
          'application',
          ';',
          '',
        ),
        fc.tuple(token, token).map(([type, subtype]) => `${type}/${subtype}`),
        fc.string({ unit: printableAscii, maxLength: 30 }),
      )
      .filter((type) => !type.toLowerCase().includes('json'));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...bodyRoutes), mediaType, async (route, type) => {
        const response = await send({
          method: route.method,
          url: `${API}${route.url()}`,
          headers: { 'content-type': type },
          payload: Buffer.from(JSON.stringify(route.valid())),
        });
        expect(response.statusCode, `${type} → ${response.body}`).toBe(415);
        expect(expectProblemShape(response).code).toBe('UNSUPPORTED_MEDIA_TYPE');
      }),
      { numRuns: 150 },
    );
    await expectNothingChanged();
  });
});

describe('hostile headers', () => {
  it('answers 400 for a malformed Idempotency-Key even on a valid body, stores no key and changes nothing', async () => {
    const idempotent = bodyRoutes.filter((route) => route.idempotent);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...idempotent), invalidKey, async (route, key) => {
        expectInvalid(
          await send(jsonRequest(route, JSON.stringify(route.valid()), { 'idempotency-key': key })),
          'idempotency-key',
        );
      }),
      { numRuns: 200 },
    );
    await expectNothingChanged();
  });

  it('keeps any X-Request-Id out of trouble: a problem still carries a request id', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 200 }), async (requestId) => {
        const body = expectProblemShape(
          await send({ method: 'GET', url: `${API}/users/abc/balance`, headers: { 'x-request-id': requestId } }),
        );
        expect(body.requestId).toEqual(expect.any(String));
        if (/^[\w.:-]{1,128}$/.test(requestId)) expect(body.requestId).toBe(requestId);
      }),
      { numRuns: 100 },
    );
  });
});

// ---------- path parameters ----------

interface Segment {
  /** As it appears in the URL. */
  readonly raw: string;
  /** As the route sees it. */
  readonly value: string;
}

const wellFormedId = (value: string) => /^[1-9][0-9]*$/.test(value) && Number(value) <= MAX_SAFE;
const encoded = (value: string): Segment => ({ raw: encodeURIComponent(value), value });
const preEncoded = (raw: string): Segment => ({ raw, value: decodeURIComponent(raw) });

const segments: fc.Arbitrary<Segment> = fc.oneof(
  fc
    .constantFrom(
      'abc',
      '0',
      '-0',
      '-1',
      '1.5',
      '1.0',
      '1e3',
      '01',
      '+1',
      ' 1',
      '1 ',
      '0x1A',
      'NaN',
      'Infinity',
      '-Infinity',
      'null',
      'undefined',
      'true',
      '[]',
      '{}',
      '9007199254740992',
      '99999999999999999999',
      '١٢٣',
      '１',
      '1_000',
      '1,000',
      '1/2',
      '?',
      '#',
      '%',
      '%00',
      '\u0000',
      '😀',
      'popular',
    )
    .map(encoded),
  fc.constantFrom('%00', '%201', '1%20', '%2B1', '%E2%80%8B1', '1%00', '%31%00', '%2F', '%3F1', '%231').map(preEncoded),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encoded),
  fc.string({ maxLength: 20 }).map(encoded),
  fc.bigInt({ min: 2n ** 53n, max: 10n ** 40n }).map((n) => encoded(String(n))),
  fc.integer({ max: 0 }).map((n) => encoded(String(n))),
  fc.double().map((n) => encoded(String(n))),
);

/**
 * Segments find-my-way reads as a path parameter. Left out, and covered as known bugs below: a malformed
 * percent-encoding and a parameter past 100 characters, which Fastify answers itself in plain JSON.
 * Left out as other routes: empty, `.` and `..` segments, and `popular` after `/products/`.
 */
const routable = (segment: Segment) =>
  segment.raw.length > 0 && segment.raw.length <= 100 && segment.value !== '.' && segment.value !== '..';

interface IdRoute {
  readonly method: Method;
  readonly url: (id: string) => string;
  readonly param: string;
  readonly body?: () => object;
}

const idRoutes: readonly IdRoute[] = [
  { method: 'GET', url: (id) => `/users/${id}/balance`, param: 'userId' },
  { method: 'POST', url: (id) => `/users/${id}/balance/charge`, param: 'userId', body: () => ({ amount: 1 }) },
  { method: 'GET', url: (id) => `/users/${id}/balance/history`, param: 'userId' },
  { method: 'GET', url: (id) => `/users/${id}/coupons`, param: 'userId' },
  { method: 'GET', url: (id) => `/users/${id}/orders`, param: 'userId' },
  { method: 'GET', url: (id) => `/products/${id}`, param: 'productId' },
  {
    method: 'PATCH',
    url: (id) => `/admin/products/${id}`,
    param: 'productId',
    body: () => ({ price: 2_000, stockDelta: 1 }),
  },
  { method: 'GET', url: (id) => `/coupons/${id}`, param: 'couponId' },
  {
    method: 'POST',
    url: (id) => `/coupons/${id}/issue`,
    param: 'couponId',
    body: () => ({ userId: shop.otherUserId }),
  },
  { method: 'GET', url: (id) => `/orders/${id}`, param: 'orderId' },
];
for (const route of idRoutes) named(`${route.method} ${route.url('{id}')}`, route);

const idRequest = (route: IdRoute, segment: Segment): InjectOptions => ({
  method: route.method,
  url: `${API}${route.url(segment.raw)}`,
  ...(route.body ? { payload: route.body() } : {}),
});

const isOtherRoute = (route: IdRoute, segment: Segment) =>
  route.param === 'productId' && route.method === 'GET' && segment.value === 'popular';

describe('hostile path parameters', () => {
  it('answers 400 INVALID_REQUEST naming the parameter for any id that is not a positive integer, even with a valid body', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...idRoutes),
        segments.filter((segment) => routable(segment) && !wellFormedId(segment.value)),
        async (route, segment) => {
          fc.pre(!isOtherRoute(route, segment));
          expectInvalid(await send(idRequest(route, segment)), route.param);
        },
      ),
      { numRuns: 300 },
    );
    await expectNothingChanged();
  });

  it('never answers a 5xx to any segment on a read route, and answers errors as problems', async () => {
    const reads = idRoutes.filter((route) => route.method === 'GET');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...reads), segments.filter(routable), async (route, segment) => {
        expectNoServerError(await send(idRequest(route, segment)));
      }),
      { numRuns: 200 },
    );
    await expectNothingChanged();
  });

  it('answers 404 for a well-formed id that names nothing, up to 2^53 − 1', async () => {
    const missing = fc.oneof(fc.integer({ min: 1_000_000, max: 2 ** 31 - 1 }), fc.constant(MAX_SAFE)).map(String);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...idRoutes), missing, async (route, id) => {
        const body = expectProblemShape(await send(idRequest(route, encoded(id))));
        expect(body.status).toBe(404);
      }),
      { numRuns: 60 },
    );
    await expectNothingChanged();
  });

  it('answers 400 for an event id that is not a UUID and 404 DELIVERY_NOT_FOUND for one that names nothing', async () => {
    const looksLikeUuid = (value: string) =>
      /^[0-9a-f]{32}$/i.test(value.replace(/^urn:uuid:/i, '').replace(/[{}-]/g, ''));
    const eventIds = fc.oneof(
      segments
        .filter((segment) => routable(segment) && !looksLikeUuid(segment.value))
        .map((segment) => ({ segment, uuid: false })),
      fc.uuid().map((uuid) => ({ segment: encoded(uuid), uuid: true })),
      fc.uuid().map((uuid) => ({ segment: encoded(uuid.toUpperCase()), uuid: true })),
    );
    await fc.assert(
      fc.asyncProperty(eventIds, async ({ segment, uuid }) => {
        const response = await send({
          method: 'POST',
          url: `${API}/admin/data-platform/deliveries/${segment.raw}/retry`,
        });
        if (uuid) expect(expectProblemShape(response)).toMatchObject({ status: 404, code: 'DELIVERY_NOT_FOUND' });
        else expectInvalid(response, 'eventId');
      }),
      { numRuns: 200 },
    );
    await expectNothingChanged();
  });
});

// ---------- query strings ----------

const paginated = [
  () => '/products',
  () => `/users/${shop.userId}/balance/history`,
  () => `/users/${shop.userId}/coupons`,
  () => `/users/${shop.userId}/orders`,
  () => '/admin/data-platform/deliveries',
];
[
  '/products',
  '/users/{userId}/balance/history',
  '/users/{userId}/coupons',
  '/users/{userId}/orders',
  '/admin/data-platform/deliveries',
].forEach((label, i) => named(label, paginated[i]!));

const queryValue = fc.oneof(
  fc.constantFrom(
    '0',
    '101',
    '-1',
    '1.5',
    '1e2',
    '0x10',
    ' 5',
    '5 ',
    '',
    'NaN',
    'Infinity',
    '١',
    '+5',
    '1000',
    '99999999999999999999',
  ),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ maxLength: 20 }),
  fc.integer().map(String),
  fc.double().map(String),
);

/** What the API could have issued as a cursor: base64url of {"after": n}, re-encoded identically. */
function couldBeCursor(value: string): boolean {
  try {
    const after: unknown = (JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { after?: unknown }).after;
    return (
      Number.isSafeInteger(after) &&
      (after as number) > 0 &&
      Buffer.from(JSON.stringify({ after })).toString('base64url') === value
    );
  } catch {
    return false;
  }
}

const query = (entries: readonly (readonly [string, string])[]) =>
  entries.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&');

describe('hostile query strings', () => {
  it('answers 400 naming limit for any limit that is not 1..100', async () => {
    const limits = queryValue.filter((value) => !/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 100);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paginated), limits, async (path, limit) => {
        expectInvalid(await send({ method: 'GET', url: `${API}${path()}?${query([['limit', limit]])}` }), 'limit');
      }),
      { numRuns: 200 },
    );
  });

  it('answers 400 naming cursor for any cursor the API did not issue', async () => {
    const cursors = fc
      .oneof(
        queryValue,
        fc.jsonValue({ maxDepth: 2 }).map((value) => Buffer.from(JSON.stringify(value)).toString('base64url')),
        fc.integer().map((after) => Buffer.from(JSON.stringify({ after })).toString('base64')),
        fc
          .oneof(fc.integer({ max: 0 }), fc.double(), fc.constant(2 ** 53))
          .map((after) => Buffer.from(JSON.stringify({ after })).toString('base64url')),
        fc.string({ minLength: 201, maxLength: 400 }),
      )
      .filter((value) => !couldBeCursor(value) || value.length > 200);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paginated), cursors, async (path, cursor) => {
        expectInvalid(await send({ method: 'GET', url: `${API}${path()}?${query([['cursor', cursor]])}` }), 'cursor');
      }),
      { numRuns: 200 },
    );
  });

  it('answers 400 naming status for any status filter outside the enum, and for a repeated parameter', async () => {
    const filters = [
      named('/users/{userId}/coupons', {
        path: () => `/users/${shop.userId}/coupons`,
        allowed: ['AVAILABLE', 'USED', 'EXPIRED'],
      }),
      named('/admin/data-platform/deliveries', {
        path: () => '/admin/data-platform/deliveries',
        allowed: ['PENDING', 'DELIVERED', 'FAILED'],
      }),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...filters),
        fc.oneof(queryValue, fc.constantFrom('available', 'Used', ' PENDING', 'FAILED ')),
        fc.boolean(),
        async (filter, status, repeat) => {
          const entries: [string, string][] = repeat
            ? [
                ['status', filter.allowed[0]!],
                ['status', filter.allowed[1]!],
              ]
            : [['status', status]];
          fc.pre(repeat || !filter.allowed.includes(status));
          expectInvalid(await send({ method: 'GET', url: `${API}${filter.path()}?${query(entries)}` }), 'status');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never answers a 5xx to any query string on any read route, operational ones included', async () => {
    const reads = [
      ...paginated,
      () => `/users/${shop.userId}/balance`,
      () => `/products/${shop.productId}`,
      () => '/products/popular',
      () => `/coupons/${shop.couponId}`,
      () => `/orders/${shop.orderId}`,
    ].map((path) => named(`${API}${path()}`, () => `${API}${path()}`));
    const operational = ['/health', '/ready', '/metrics', '/docs/json'].map((path) => named(path, () => path));
    const entries = fc.array(
      fc.tuple(fc.oneof(fc.constantFrom('limit', 'cursor', 'status'), fc.string({ maxLength: 8 })), queryValue),
      { maxLength: 4 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...reads, ...operational), entries, async (path, pairs) => {
        expectNoServerError(await send({ method: 'GET', url: `${path()}?${query(pairs)}` }));
      }),
      { numRuns: 200 },
    );
    await expectNothingChanged();
  });
});

describe('unknown routes', () => {
  it('answers 404 ROUTE_NOT_FOUND for a method the contract does not list on a path it does', async () => {
    const paths = [
      ...idRoutes.map((route) => () => route.url('1')),
      ...bodyRoutes.map((route) => route.url),
      ...paginated,
      () => '/products/popular',
    ].map((path) => named(path(), path));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.constantFrom<'PUT' | 'DELETE'>('PUT', 'DELETE'),
        async (path, method) => {
          const body = expectProblemShape(await send({ method, url: `${API}${path()}`, payload: { amount: 1 } }));
          expect(body).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND' });
        },
      ),
      { numRuns: 60 },
    );
    await expectNothingChanged();
  });

  it('answers arbitrary paths with a problem, never a 5xx', async () => {
    const paths = fc
      .array(segments.filter(routable), { minLength: 1, maxLength: 4 })
      .map((parts) => parts.map((part) => part.raw).join('/'));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(`${API}/`, `${API}/admin/`, `${API}/users/1/`, '/'),
        paths,
        fc.constantFrom<Method>('GET', 'POST', 'PATCH'),
        async (prefix, path, method) => {
          expectNoServerError(
            await send({
              method,
              url: `${prefix}${path}`,
              payload: '{',
              headers: { 'content-type': 'application/json' },
            }),
          );
        },
      ),
      { numRuns: 200 },
    );
    await expectNothingChanged();
  });
});

// ---------- well-formed but unusual values: may be accepted, never a 5xx ----------

const countOf = async (table: 'users' | 'products' | 'coupons') =>
  Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(t.database.db)).rows[0]!.n);

describe('unusual but well-formed values', () => {
  it('answers a name of any characters with 201 and that name trimmed, or a problem that stores nothing', async () => {
    const targets = [
      named('POST /admin/users', {
        table: 'users' as const,
        url: '/admin/users',
        body: (name: string) => userBody({ name }),
      }),
      named('POST /admin/products', {
        table: 'products' as const,
        url: '/admin/products',
        body: (name: string) => productBody({ name, price: 1, stock: 0 }),
      }),
      named('POST /admin/coupons', {
        table: 'coupons' as const,
        url: '/admin/coupons',
        body: (name: string) => ({ ...coupon, name }),
      }),
    ];
    const names = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 100 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
      fc.constantFrom('a\u0000b', '\u0000', 'a\u007fb', '\u200b', '\ufffe', '\u{10ffff}'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), names, async (target, name) => {
        const count = await countOf(target.table);
        const response = await send({ method: 'POST', url: `${API}${target.url}`, payload: target.body(name) });
        expectNoServerError(response);
        if (response.statusCode === 201) expect(response.json<{ name: string }>().name).toBe(name.trim());
        else expectInvalid(response, 'name');
        expect(await countOf(target.table)).toBe(response.statusCode === 201 ? count + 1 : count);
      }),
      { numRuns: 150 },
    );
  });

  it('answers an ISO 8601 window at any instant and offset with a coupon that reads back, or a 400 that stores nothing', async () => {
    const pad = (n: number, width = 2) => String(n).padStart(width, '0');
    const offset = fc.oneof(
      fc.constant('Z'),
      fc
        .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
        .map(([sign, h, m]) => `${sign}${pad(h)}:${pad(m)}`),
    );
    const daysIn = (year: number, month: number) =>
      new Date(Date.UTC(2000, month, 0)).getUTCDate() -
      (month === 2 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 1 : 0);
    const local = fc.oneof(
      fc.constantFrom(
        '0000-01-01T00:00:00',
        '0001-01-01T00:00:00',
        '1970-01-01T00:00:00',
        '9999-12-31T23:59:59',
        '2000-02-29T12:00:00',
      ),
      fc
        .tuple(
          fc.oneof(fc.constantFrom(0, 1, 1970, 9999), fc.integer({ min: 0, max: 9999 })),
          fc.integer({ min: 1, max: 12 }),
        )
        .chain(([y, mo]) =>
          fc
            .tuple(
              fc.integer({ min: 1, max: daysIn(y, mo) }),
              fc.integer({ min: 0, max: 23 }),
              fc.integer({ min: 0, max: 59 }),
              fc.integer({ min: 0, max: 59 }),
            )
            .map(([d, h, mi, sec]) => `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(sec)}`),
        ),
    );
    const instant = fc
      .tuple(local, fc.option(fc.integer({ min: 0, max: 999_999 }), { nil: undefined }), offset)
      .map(([time, fraction, zone]) => `${time}${fraction === undefined ? '' : `.${fraction}`}${zone}`);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('issueStartsAt', 'issueEndsAt'), instant, async (field, value) => {
        const count = await countOf('coupons');
        const response = await send({
          method: 'POST',
          url: `${API}/admin/coupons`,
          payload: { ...coupon, [field]: value },
        });
        expectNoServerError(response);
        if (response.statusCode === 201) {
          const created = response.json<Record<string, unknown>>();
          expect(created[field]).toBe(new Date(value).toISOString());
          const read = await send({ method: 'GET', url: `${API}/coupons/${Number(created.id)}` });
          expect(read.statusCode, read.body).toBe(200);
          expect(read.json()).toEqual(created);
        } else {
          expectInvalid(response, field);
        }
        expect(await countOf('coupons')).toBe(response.statusCode === 201 ? count + 1 : count);
      }),
      { numRuns: 150 },
    );
  });
});

// ---------- found by the properties above, and fixed ----------

describe('URLs the router itself refuses', () => {
  it('answers a path with broken percent-encoding as a 400 problem about the request as a whole', async () => {
    expectInvalid(await send({ method: 'GET', url: `${API}/users/%/balance` }), '');
    expectInvalid(await send({ method: 'POST', url: `${API}/users/%zz/balance/charge`, payload: { amount: 1 } }), '');
  });

  it('answers a path id past 100 characters as 400 INVALID_REQUEST', async () => {
    expectInvalid(await send({ method: 'GET', url: `${API}/users/${'1'.repeat(101)}/balance` }), 'userId');
  });
});
