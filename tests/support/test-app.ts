import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Clock } from '../../src/application/ports/clock.js';
import { buildApp } from '../../src/adapters/http/app.js';
import { isDatabaseUnavailable } from '../../src/adapters/postgres/pg-errors.js';
import { appDependencies, createContainer } from '../../src/container.js';
import { type TestDatabase, useTestDatabase } from './test-database.js';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly database: TestDatabase;
}

/** The real HTTP app on this file's own schema, driven through `app.inject`. */
export function useTestApp({ clock }: { clock?: Clock } = {}): TestApp {
  const database = useTestDatabase();
  let app: FastifyInstance | undefined;

  beforeAll(async () => {
    app = await buildApp(
      appDependencies(
        createContainer({ repositories: { kind: 'POSTGRES', db: database.db }, ...(clock ? { clock } : {}) }),
      ),
      {
        isUnavailable: isDatabaseUnavailable,
      },
    );
  });
  afterAll(async () => {
    await app?.close();
  });

  return {
    database,
    get app(): FastifyInstance {
      if (!app) throw new Error('the app is ready only inside tests and hooks');
      return app;
    },
  };
}

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
