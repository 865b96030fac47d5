import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Compose {
  services: Record<string, { ports?: Array<string | { host_ip?: string; published?: string | number }> }>;
}

/** The host address each published port of a service binds to; a port published without one binds to all. */
function hostAddressesOf(compose: Compose, service: string): string[] {
  return (compose.services[service]?.ports ?? []).map((port) => {
    if (typeof port !== 'string') return port.host_ip ?? '0.0.0.0';
    const parts = port.split(':');
    return parts.length === 3 ? parts[0]! : '0.0.0.0';
  });
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as Compose;

  it('publishes PostgreSQL, whose password is in the file, on this machine’s loopback only', () => {
    const addresses = hostAddressesOf(compose, 'postgres');
    expect(addresses.length).toBeGreaterThan(0);
    expect(addresses.filter((address) => address !== '127.0.0.1')).toEqual([]);
  });

  it('reads the secrets from the shell, never from the file', () => {
    const text = readFileSync('docker-compose.yml', 'utf8');
    expect(text).not.toMatch(/-----BEGIN/);
    expect(text).toMatch(/AUTH_SIGNING_KEY: \$\{AUTH_SIGNING_KEY:\?/);
    expect(text).toMatch(/ADMIN_PASSWORD: \$\{ADMIN_PASSWORD:-\}/);
  });
});
