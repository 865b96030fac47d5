import { Writable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/adapters/http/app.js';
import { createLogger } from '../../../src/adapters/logging/logger.js';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { appDependencies, createContainer } from '../../../src/container.js';

/** Everything written to it, as text. */
class Captured extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
  get lines(): string[] {
    return this.text.split('\n').filter(Boolean);
  }
}

/** One request through the real app, logged by a logger of these options. */
async function logOneRequest(pretty: boolean): Promise<Captured> {
  const out = new Captured();
  const logger = await createLogger({ level: 'info', pretty, destination: out, colorize: false });
  const container = createContainer({ repositories: { kind: 'IN_MEMORY', store: new InMemoryStore() } });
  const app = await buildApp(appDependencies(container), { logger });
  try {
    await app.inject({ method: 'GET', url: '/api/v1/products/999', headers: { 'x-request-id': 'req-42' } });
  } finally {
    await app.close();
  }
  await tick();
  return out;
}

describe('the process logger', () => {
  it('pretty-prints one readable line per entry for a terminal, each request line led by its request id', async () => {
    const { lines, text } = await logOneRequest(true);

    expect(
      lines.some((line) =>
        /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[req-42\] incoming request GET \/api\/v1\/products\/999$/.test(line),
      ),
    ).toBe(true);
    expect(lines.some((line) => /INFO: \[req-42\] request rejected$/.test(line))).toBe(true);
    expect(lines.some((line) => /INFO: \[req-42\] request completed 404 in \d+ ms$/.test(line))).toBe(true);
    // Other fields follow their line, indented.
    expect(text).toMatch(/request rejected\n\s+code: "PRODUCT_NOT_FOUND"/);
    expect(lines.some((line) => line.trimStart().startsWith('{'))).toBe(false);
  });

  it('writes one JSON object per line otherwise, with the request id as a field', async () => {
    const { lines } = await logOneRequest(false);

    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.length).toBeGreaterThanOrEqual(3);
    expect(entries.every((entry) => entry.reqId === 'req-42')).toBe(true);
    expect(entries.map((entry) => entry.msg)).toEqual(
      expect.arrayContaining(['incoming request', 'request rejected', 'request completed']),
    );
  });
});
