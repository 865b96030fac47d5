/**
 * Every error code the API answers with, its HTTP status and title: the one registry the error handler
 * reads. Codes are the contract's; a new domain error needs a row here or it surfaces as a 500.
 * tests/unit/http/problem-registry.unit.test.ts holds it to what src/ throws and what ../shared/API.md promises.
 */
export const PROBLEMS = {
  INVALID_REQUEST: { status: 400, title: 'The request is not valid' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  INVALID_CREDENTIALS: { status: 401, title: 'Wrong email or password' },
  INVALID_REFRESH_TOKEN: { status: 401, title: 'Refresh token not valid' },
  FORBIDDEN: { status: 403, title: 'Not allowed' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  USER_NOT_FOUND: { status: 404, title: 'User not found' },
  PRODUCT_NOT_FOUND: { status: 404, title: 'Product not found' },
  COUPON_NOT_FOUND: { status: 404, title: 'Coupon not found' },
  ORDER_NOT_FOUND: { status: 404, title: 'Order not found' },
  ORDER_NOT_CANCELLABLE: { status: 409, title: 'Order not cancellable' },
  DELIVERY_NOT_FOUND: { status: 404, title: 'Delivery not found' },
  BALANCE_LIMIT_EXCEEDED: { status: 409, title: 'Balance limit exceeded' },
  INSUFFICIENT_BALANCE: { status: 409, title: 'Insufficient balance' },
  INSUFFICIENT_STOCK: { status: 409, title: 'Insufficient stock' },
  STOCK_LIMIT_EXCEEDED: { status: 409, title: 'Stock limit exceeded' },
  COUPON_NOT_ISSUABLE: { status: 409, title: 'Coupon not issuable now' },
  COUPON_ALREADY_ISSUED: { status: 409, title: 'Coupon already issued to this user' },
  COUPON_SOLD_OUT: { status: 409, title: 'Coupon sold out' },
  COUPON_NOT_USABLE: { status: 409, title: 'Coupon not usable' },
  ALREADY_DELIVERED: { status: 409, title: 'Already delivered' },
  EMAIL_TAKEN: { status: 409, title: 'Email already registered' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, title: 'Idempotency-Key in use' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request took too long to arrive' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency-Key reused for another request' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  TOO_MANY_REQUESTS: { status: 429, title: 'Too many requests' },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

const PROBLEM_TYPE_BASE = 'https://shop.example.com/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  [fact: string]: unknown;
}

export function isProblemCode(code: string): code is ProblemCode {
  return Object.hasOwn(PROBLEMS, code);
}

export function problem(code: ProblemCode, detail: string, facts: Readonly<Record<string, unknown>> = {}): Problem {
  const { status, title } = PROBLEMS[code];
  const kebab = code.toLowerCase().replaceAll('_', '-');
  return { ...facts, type: `${PROBLEM_TYPE_BASE}${kebab}`, title, status, detail, code };
}
