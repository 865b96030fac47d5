import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { DependencyContainer } from 'tsyringe';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Clock } from '../../src/application/ports/clock.js';
import { buildApp } from '../../src/adapters/http/app.js';
import { isDatabaseUnavailable } from '../../src/adapters/postgres/pg-errors.js';
import { type AuthOptions, accessTokens, appDependencies, createContainer, ensureAdmin } from '../../src/container.js';
import type { Role } from '../../src/domain/user/user.js';
import type { Api } from './builders.js';
import { type TestDatabase, useTestDatabase } from './test-database.js';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly database: TestDatabase;
  /** The app, signed in as this file's administrator: what builders and most requests go through. */
  readonly api: Api;
  /** The administrator's bearer token; its account id is `adminId`. */
  readonly adminToken: string;
  readonly adminId: number;
  /**
   * An access token for an existing user, signed with the app's own key (as a login would issue it, without
   * the Argon2id cost of logging in thousands of test users).
   */
  tokenFor(userId: number, role?: Role): Promise<string>;
  /** The app, signed in as `userId` (a customer unless `role` says otherwise). */
  as(userId: number, role?: Role): Promise<Api>;
}

export const TEST_ADMIN_EMAIL = 'admin@tests.invalid';
export const TEST_ADMIN_PASSWORD = 'admin-password-for-tests';

/** The real HTTP app on this file's own schema, driven through `app.inject`, with an administrator signed in. */
export function useTestApp({ clock, auth }: { clock?: Clock; auth?: AuthOptions } = {}): TestApp {
  const database = useTestDatabase();
  let app: FastifyInstance | undefined;
  let container: DependencyContainer | undefined;
  let admin: { id: number; token: string } | undefined;

  const tokenFor = async (userId: number, role: Role = 'CUSTOMER') => {
    if (!container) throw new Error('tokens can be made only inside tests and hooks');
    const tokenVersion =
      (await database.db.selectFrom('users').select('token_version').where('id', '=', userId).executeTakeFirst())
        ?.token_version ?? 0;
    return accessTokens(container).issue({ userId, role, tokenVersion });
  };

  beforeAll(async () => {
    container = createContainer({
      repositories: { kind: 'POSTGRES', db: database.db },
      ...(clock ? { clock } : {}),
      ...(auth ? { auth } : {}),
    });
    app = await buildApp(appDependencies(container), { isUnavailable: isDatabaseUnavailable });
    const created = await ensureAdmin(container, TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD);
    if (!created) throw new Error('the test schema already had an administrator');
    admin = { id: created.id, token: await tokenFor(created.id, 'ADMIN') };
  });
  afterAll(async () => {
    await app?.close();
  });

  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the app is ready only inside tests and hooks');
    return value;
  };
  return {
    database,
    get app(): FastifyInstance {
      return ready(app);
    },
    get api(): Api {
      return { app: ready(app), token: ready(admin).token };
    },
    get adminToken(): string {
      return ready(admin).token;
    },
    get adminId(): number {
      return ready(admin).id;
    },
    tokenFor,
    async as(userId: number, role?: Role): Promise<Api> {
      return { app: ready(app), token: await tokenFor(userId, role) };
    },
  };
}

/** The Authorization header of a bearer token. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Asserts an RFC 9457 problem with the given status and code, and returns its body for more checks. */
export function expectProblem(response: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.json<Record<string, unknown>>();
  expect({ status: response.statusCode, code: body.code }).toEqual({ status, code });
  expect(body).toMatchObject({
    status,
    type: expect.stringMatching(/\/problems\/[a-z-]+$/),
    title: expect.any(String),
    detail: expect.any(String),
  });
  return body;
}

/** Query values the contract's `?limit=` refuses (1..100). */
export const BAD_LIMITS = ['0', '101', 'abc', '-1', '1.5', ''];

/** Cursors the API never issued: garbage, tampered, or of another shape. */
export const BAD_CURSORS: [label: string, cursor: string][] = [
  ['garbage', 'not-a-cursor'],
  ['valid base64 of non-JSON', Buffer.from('hello').toString('base64url')],
  ['a tampered payload', Buffer.from(JSON.stringify({ after: -3 })).toString('base64url')],
  ['an unknown shape', Buffer.from(JSON.stringify({ id: 3 })).toString('base64url')],
  ['overlong', 'a'.repeat(500)],
];
