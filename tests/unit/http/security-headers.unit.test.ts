import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import helmet, { type HelmetOptions } from 'helmet';
import { describe, expect, it } from 'vitest';
import { securityHeaders } from '../../../src/adapters/http/security-headers.js';

/** What helmet's own middleware leaves on a real response. */
function helmetOn(options: HelmetOptions): Record<string, unknown> {
  const response = new ServerResponse(new IncomingMessage(new Socket()));
  response.setHeader('x-powered-by', 'something');
  helmet(options)(response.req, response, () => undefined);
  return { ...response.getHeaders() };
}

describe('securityHeaders', () => {
  it.each<[string, HelmetOptions]>([
    ["helmet's defaults", {}],
    [
      "the app's content security policy",
      { contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], upgradeInsecureRequests: null } } },
    ],
    ['a header turned off', { strictTransportSecurity: false, xFrameOptions: { action: 'deny' } }],
  ])('are the headers helmet itself sets, with %s', (_case, options) => {
    expect(securityHeaders(options)).toEqual(helmetOn(options));
    expect(Object.keys(securityHeaders(options)).length).toBeGreaterThan(5);
  });

  it('refuses a directive computed per request, which one list cannot hold', () => {
    const perRequest = { contentSecurityPolicy: { directives: { scriptSrc: [() => "'nonce-x'"] } } };
    expect(() => securityHeaders(perRequest)).toThrow(/scriptSrc is computed per request/);
  });
});
