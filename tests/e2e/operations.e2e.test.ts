import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/adapters/http/app.js';
import { createDb } from '../../src/adapters/postgres/database.js';
import { isDatabaseUnavailable } from '../../src/adapters/postgres/pg-errors.js';
import { accessTokens, appDependencies, createContainer } from '../../src/container.js';
import { bearer, expectProblem, useTestApp } from '../support/test-app.js';

const t = useTestApp();

describe('operational endpoints', () => {
  it('answers /health and /ready while the database is reachable', async () => {
    const health = await t.app.inject({ method: 'GET', url: '/health' });
    expect({ status: health.statusCode, body: health.json() }).toEqual({ status: 200, body: { status: 'ok' } });
    const ready = await t.app.inject({ method: 'GET', url: '/ready' });
    expect({ status: ready.statusCode, body: ready.json() }).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('answers /ready and the API with 503 and Retry-After when the database is unreachable', async () => {
    // Nothing listens on port 1: every connection is refused at once.
    const db = createDb({ url: 'postgres://nobody:nothing@127.0.0.1:1/none', connectionTimeoutMs: 1_000 });
    const container = createContainer({ repositories: { kind: 'POSTGRES', db } });
    const app = await buildApp(appDependencies(container), { isUnavailable: isDatabaseUnavailable });
    // A well-signed token of user 1: checking it needs the database too.
    const headers = bearer(await accessTokens(container).issue({ userId: 1, role: 'CUSTOMER', tokenVersion: 0 }));
    try {
      const ready = await app.inject({ method: 'GET', url: '/ready' });
      expectProblem(ready, 503, 'SERVICE_UNAVAILABLE');
      expect(ready.headers['retry-after']).toBe('1');
      for (const response of [
        await app.inject({ method: 'GET', url: '/api/v1/users/1/balance', headers }),
        await app.inject({ method: 'POST', url: '/api/v1/users/1/balance/charge', headers, payload: { amount: 1 } }),
      ]) {
        const body = expectProblem(response, 503, 'SERVICE_UNAVAILABLE');
        expect(response.headers['retry-after']).toBe('1');
        expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stack/);
      }
    } finally {
      await app.close();
      await db.destroy();
    }
  });

  it('answers 503 with Retry-After after a bounded wait when every pooled connection is busy', async () => {
    const db = createDb({ url: t.database.url, schema: t.database.schema, poolSize: 1, connectionTimeoutMs: 200 });
    const app = await buildApp(appDependencies(createContainer({ repositories: { kind: 'POSTGRES', db } })), {
      isUnavailable: isDatabaseUnavailable,
    });
    try {
      const holding = sql`SELECT pg_sleep(1)`.execute(db); // the pool's only connection, busy for a second
      await sleep(100);
      const started = performance.now();
      const response = await app.inject({ method: 'GET', url: '/api/v1/products' });
      const waited = performance.now() - started;
      await holding;
      expectProblem(response, 503, 'SERVICE_UNAVAILABLE');
      expect(response.headers['retry-after']).toBe('1');
      expect(waited).toBeGreaterThanOrEqual(150);
      expect(waited).toBeLessThan(2_000);
      expect((await app.inject({ method: 'GET', url: '/api/v1/products' })).statusCode).toBe(200);
    } finally {
      await app.close();
      await db.destroy();
    }
  });

  it('serves Prometheus metrics with a request-duration histogram by route and status', async () => {
    await t.app.inject({ method: 'GET', url: '/health' });
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/health"[^}]*status_code="200"/);
    expect(metrics.body).toContain('process_cpu_user_seconds_total');
  });

  it('publishes the contract as OpenAPI 3 at /docs/json and Swagger UI at /docs', async () => {
    const spec = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(spec.statusCode).toBe(200);
    const document = spec.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/users/{userId}/balance',
        '/api/v1/users/{userId}/balance/charge',
        '/api/v1/users/{userId}/balance/history',
        '/api/v1/admin/users',
      ]),
    );
    expect(document.paths['/api/v1/users/{userId}/balance/charge']?.post).toMatchObject({
      requestBody: { content: { 'application/json': { schema: { properties: { amount: { type: 'integer' } } } } } },
    });
    const ui = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(ui.statusCode).toBeLessThan(400);
  });

  it('answers an unknown route with 404 ROUTE_NOT_FOUND as problem+json', async () => {
    expectProblem(await t.app.inject({ method: 'GET', url: '/api/v1/nowhere' }), 404, 'ROUTE_NOT_FOUND');
    expectProblem(await t.app.inject({ method: 'DELETE', url: '/api/v1/users/1/balance' }), 404, 'ROUTE_NOT_FOUND');
  });

  it('echoes a sane X-Request-Id and makes one up otherwise, in errors too', async () => {
    const given = await t.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const made = await t.app.inject({
      method: 'GET',
      url: '/api/v1/nowhere',
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(made.json()).toMatchObject({ requestId: made.headers['x-request-id'] });
  });
});
