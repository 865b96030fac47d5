import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/adapters/http/app.js';
import { appDependencies, createContainer } from '../../../src/container.js';

let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  app = await buildApp(appDependencies(createContainer({ repositories: { kind: 'IN_MEMORY' } })), {
    requestTimeoutMs: 300,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await app.close();
});

/** Sends `head` and then nothing: resolves with what came back and how long until the socket closed. */
function dripAndWait(head: string): Promise<{ answer: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve({ answer, closedAfterMs: performance.now() - started }));
    setTimeout(() => {
      socket.destroy();
      resolve({ answer, closedAfterMs: Number.POSITIVE_INFINITY });
    }, 3_000).unref();
  });
}

describe('a request that never finishes arriving', () => {
  it.each([
    ['its body stalls after the headers', 'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"em'],
    ['its headers never end', 'Content-Type: application/json\r\n'],
  ])('is cut off after requestTimeout with a 408 problem when %s, not held open', async (_label, rest) => {
    const { answer, closedAfterMs } = await dripAndWait(`POST /api/v1/auth/login HTTP/1.1\r\nHost: shop\r\n${rest}`);
    expect(closedAfterMs).toBeLessThan(2_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(answer).toMatch(/application\/problem\+json/);
    expect(answer).toContain('"code":"REQUEST_TIMEOUT"');
  });
});

describe('requests that arrived whole', () => {
  it('are never failed later by the deadline: a GET and a POST, then the deadline passes, then more requests', async () => {
    const first = await app.inject({ method: 'GET', url: '/health' });
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'x', password: 'y' },
    });
    expect([first.statusCode, login.statusCode]).toEqual([200, 401]);
    // Past the 300 ms deadline of both: a timer left behind would now fail a stream nobody listens to.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
