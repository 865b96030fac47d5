import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/adapters/http/app.js';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { appDependencies, createContainer } from '../../../src/container.js';

/**
 * The app in memory with the production hasher (Argon2id at OWASP's minimum, default limits): a flood of
 * logins and sign-ups past what it queues is answered 503 with Retry-After, never a 500, and what was
 * queued is answered as usual.
 */
let app: FastifyInstance;

beforeAll(async () => {
  // A flood from many addresses, as the hasher's bound is for: one address is stopped earlier, per minute.
  const container = createContainer({
    repositories: { kind: 'IN_MEMORY', store: new InMemoryStore() },
    auth: { rateLimitPerMinute: 10_000 },
  });
  app = await buildApp(appDependencies(container));
});
afterAll(async () => {
  await app.close();
});

const login = (email: string, password: string) =>
  app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
const signUp = (i: number) =>
  app.inject({
    method: 'POST',
    url: '/api/v1/auth/signup',
    payload: { email: `flood-${i}@example.com`, password: 'a long enough password', name: `Flood ${i}` },
  });

describe('a flood of logins and sign-ups', () => {
  it('is answered 503 SERVICE_UNAVAILABLE with Retry-After past the hasher’s queue, and the rest as usual', async () => {
    // One unknown email first, so the dummy hash is made and every login below costs one verify.
    expect((await login('warm-up@example.com', 'whatever password')).statusCode).toBe(401);

    const answers = await Promise.all([
      ...Array.from({ length: 150 }, (_, i) => login(`stranger-${i}@example.com`, 'whatever password')),
      ...Array.from({ length: 30 }, (_, i) => signUp(i)),
    ]);
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => ![401, 201, 503].includes(s))).toEqual([]);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);

    for (const answer of answers.filter((a) => a.statusCode === 503)) {
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.headers['retry-after']).toBe('1');
      expect(answer.json()).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', detail: expect.any(String) });
    }
    // A refused sign-up made no account: the same email signs up once the flood is over.
    const refusedSignUp = answers.slice(150).findIndex((a) => a.statusCode === 503);
    if (refusedSignUp >= 0) expect((await signUp(refusedSignUp)).statusCode).toBe(201);
  }, 30_000);

  it('does not count the refused logins of an account against its login limit', async () => {
    const email = 'ana@example.com';
    const password = 'correct horse battery';
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      payload: { email, password, name: 'Ana' },
    });
    expect(created.statusCode).toBe(201);
    expect((await login('warm-up@example.com', 'whatever password')).statusCode).toBe(401);

    // Strangers fill the hasher's queue; once one is refused, ten wrong guesses for Ana (the limit) follow.
    const strangers = Array.from({ length: 150 }, (_, i) => login(`other-${i}@example.com`, 'whatever password'));
    const refused = strangers.map(async (answer) => {
      if ((await answer).statusCode !== 503) await new Promise(() => undefined);
    });
    await Promise.race([...refused, Promise.all(strangers)]);
    const guesses = await Promise.all(Array.from({ length: 10 }, () => login(email, 'a wrong guess')));
    await Promise.all(strangers);
    const statuses = guesses.map((g) => g.statusCode);
    expect(statuses.filter((s) => s !== 401 && s !== 503)).toEqual([]);
    expect(statuses).toContain(503);

    // Only the guesses that were checked count: the right password still logs in.
    const rightOne = await login(email, password);
    expect(rightOne.statusCode).toBe(200);
  }, 30_000);
});
