import { describe, expect, it } from 'vitest';
import { InMemoryClientRequestCounter } from '../../../src/adapters/memory/in-memory-client-request-counter.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { LimitClientRequests } from '../../../src/application/auth/limit-client-requests.js';
import { ClientRateLimitedError } from '../../../src/domain/account/account-errors.js';
import { clientKey } from '../../../src/domain/account/client-rate-limit.js';

describe('clientKey', () => {
  it('keeps an IPv4 address as it is, and unwraps one mapped into IPv6', () => {
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('::FFFF:192.0.2.7')).toBe('192.0.2.7');
  });

  it('unwraps a mapped IPv4 address however the IPv6 side is written', () => {
    expect(clientKey('0:0:0:0:0:ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('::ffff:c000:207')).toBe('192.0.2.7');
    expect(clientKey('0000::FFFF:C000:0207')).toBe('192.0.2.7');
  });

  it('keeps the requests of a client whose connection has closed under one key of their own', () => {
    expect(clientKey(undefined)).toBe('unknown');
  });

  it('counts an IPv6 client by its /64, however it writes the address', () => {
    expect(clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:DB8:1:2::ffff')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
  });

  it('leaves anything that is no IP address as it is', () => {
    expect(clientKey('unknown')).toBe('unknown');
  });
});

describe('LimitClientRequests over IPv6', () => {
  it('gives the addresses of one /64 one budget between them', async () => {
    const clock = new ManualClock('2026-11-24T03:00:00Z');
    const limit = new LimitClientRequests(new InMemoryClientRequestCounter(clock), 2, clock);
    await limit.execute({ clientAddress: '2001:db8:1:2::1' });
    await limit.execute({ clientAddress: '2001:db8:1:2::2' });
    await expect(limit.execute({ clientAddress: '2001:db8:1:2::3' })).rejects.toBeInstanceOf(ClientRateLimitedError);
    await expect(limit.execute({ clientAddress: '2001:db8:1:3::1' })).resolves.toBeUndefined();
  });
});
