import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../../src/adapters/data-platform/undici-data-platform-client.js';

const now = new Date('2026-11-24T03:00:00.250Z');

describe('retryAfterMs', () => {
  it('reads delta-seconds on a 429 or a 503', () => {
    expect(retryAfterMs(429, '120', now)).toBe(120_000);
    expect(retryAfterMs(503, '0', now)).toBe(0);
    expect(retryAfterMs(503, ' 7 ', now)).toBe(7_000);
    expect(retryAfterMs(429, ['3', '9'], now)).toBe(3_000);
  });

  it('reads an HTTP date as the time from now until then, never below 0', () => {
    expect(retryAfterMs(503, 'Tue, 24 Nov 2026 03:00:30 GMT', now)).toBe(29_750);
    expect(retryAfterMs(429, 'Tue, 24 Nov 2026 02:59:00 GMT', now)).toBe(0);
    // The obsolete forms a recipient must still read (RFC 9110 §5.6.7), both in GMT.
    expect(retryAfterMs(503, 'Tuesday, 24-Nov-26 03:01:00 GMT', now)).toBe(59_750);
    expect(retryAfterMs(503, 'Tue Nov 24 03:01:00 2026', now)).toBe(59_750);
  });

  it('is undefined for a header that is neither, or none', () => {
    for (const garbage of ['soon', '-1', '1.5', '12abc', '1e3', '', '   ', 'Tue, 99 Nah 2026 GMT', '2026-11-24'])
      expect(retryAfterMs(503, garbage, now), JSON.stringify(garbage)).toBeUndefined();
    expect(retryAfterMs(429, undefined, now)).toBeUndefined();
    expect(retryAfterMs(429, [], now)).toBeUndefined();
  });

  it('is undefined on any answer but a 429 or a 503', () => {
    for (const status of [200, 301, 400, 408, 500, 502, 504])
      expect(retryAfterMs(status, '120', now), String(status)).toBeUndefined();
  });
});
