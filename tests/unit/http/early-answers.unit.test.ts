import { type AddressInfo, connect } from 'node:net';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/adapters/http/app.js';
import { appDependencies, createContainer } from '../../../src/container.js';

/**
 * Answers given before a request's body was all read (415, 413, 401, 404), over real keep-alive connections:
 * the rest of the body must not be left on the connection, where it held up the next request for ever.
 */
let app: FastifyInstance;
let origin: string;

beforeAll(async () => {
  // Its requests all come from one address, more than the per-address limit a minute lets through.
  const container = createContainer({ repositories: { kind: 'IN_MEMORY' }, auth: { rateLimitPerMinute: 10_000 } });
  app = await buildApp(appDependencies(container));
  await app.listen({ port: 0, host: '127.0.0.1' });
  origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app.close();
});

const twoMiB = 'x'.repeat(2 * 1024 * 1024);

interface Sent {
  readonly path: string;
  readonly body: string;
  readonly chunked?: boolean;
  readonly type?: string;
}

const early: Array<[string, Sent, number, string]> = [
  [
    'a 2 MB body under text/plain',
    { path: '/api/v1/auth/login', body: twoMiB, type: 'text/plain' },
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'a 2 MB body with its Content-Length',
    { path: '/api/v1/auth/login', body: `{"email":"${twoMiB}"}` },
    413,
    'PAYLOAD_TOO_LARGE',
  ],
  ['a 2 MB chunked body', { path: '/api/v1/auth/login', body: twoMiB, chunked: true }, 413, 'PAYLOAD_TOO_LARGE'],
  ['a 2 MB body without a token', { path: '/api/v1/orders', body: `{"x":"${twoMiB}"}` }, 401, 'UNAUTHENTICATED'],
];

async function send(pool: Pool, { path, body, chunked = false, type = 'application/json' }: Sent) {
  const response = await pool.request({
    method: 'POST',
    path,
    headers: { 'content-type': type },
    // Without a length, undici sends a stream chunked.
    body: chunked ? Readable.from([Buffer.from(body)]) : body,
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

describe('an answer before the body has all arrived', () => {
  it.each(early)('%s: the answer, then the next request on the pool is served', async (_label, sent, status, code) => {
    const pool = new Pool(origin, { connections: 1, headersTimeout: 3_000, bodyTimeout: 3_000 });
    try {
      const answer = await send(pool, sent);
      expect(answer.status).toBe(status);
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(answer.text)).toMatchObject({ code });
      const next = await pool.request({ method: 'GET', path: '/health' });
      await next.body.text();
      expect(next.statusCode).toBe(200);
    } finally {
      await pool.close();
    }
  });

  it('a burst of 240 hostile requests over 20 keep-alive connections: every one answered 4xx, none dropped', async () => {
    const junk: Sent[] = [
      ...early.map(([, sent]) => sent),
      { path: '/api/v1/auth/login', body: '{not json' },
      { path: '/api/v1/auth/signup', body: '{"email":1}' },
      { path: '/api/v1/orders', body: '{}' },
      { path: '/api/v1/nowhere', body: `{"x":"${twoMiB}"}` },
    ];
    const pool = new Pool(origin, { connections: 20, headersTimeout: 10_000, bodyTimeout: 10_000 });
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 240 }, (_, i) =>
          send(pool, junk[i % junk.length]!).then(
            ({ status }) => (status >= 400 && status < 500 ? '4xx' : String(status)),
            (error: Error & { code?: string }) => error.code ?? error.message,
          ),
        ),
      );
      expect(outcomes.filter((outcome) => outcome !== '4xx')).toEqual([]);
    } finally {
      await pool.close();
    }
  });

  it('an ordinary answer keeps its connection open for the next request', async () => {
    const pool = new Pool(origin, { connections: 1 });
    try {
      for (let i = 0; i < 2; i++) {
        const answer = await send(pool, { path: '/api/v1/auth/login', body: '{"email":"a@b.c","password":"x"}' });
        expect(answer.status).toBe(401);
        expect(answer.headers.connection).not.toBe('close');
      }
    } finally {
      await pool.close();
    }
  });
});

describe('a client that sends its whole body before it reads', () => {
  it('gets its 415 for a 20 MB body, and its next request on the same connection is answered', async () => {
    const { port } = app.server.address() as AddressInfo;
    const body = Buffer.alloc(20 * 1024 * 1024, 'x');
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const closed = new Promise<string | undefined>((resolve) => {
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
      socket.once('close', () => resolve(undefined));
    });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const head = `POST /api/v1/auth/login HTTP/1.1\r\nHost: shop\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`;
    await new Promise<void>((resolve, reject) =>
      socket.write(Buffer.concat([Buffer.from(head), body]), (error) => (error ? reject(error) : resolve())),
    );
    socket.write('GET /health HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n');
    const error = await closed;
    expect(error).toBeUndefined();
    const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => match[1]);
    expect(statuses).toEqual(['415', '200']);
  });
});
