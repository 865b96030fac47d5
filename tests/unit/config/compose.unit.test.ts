import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Service {
  environment?: Record<string, string>;
  ports?: unknown[];
  volumes?: string[];
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition?: string }>;
}

interface Compose {
  services: Record<string, Service>;
}

const text = readFileSync('docker-compose.yml', 'utf8');
const compose = parse(text) as Compose;
const postgres = compose.services.postgres!;
const app = compose.services.app!;

/** A value taken from the shell and required there: `${NAME:?message}`, with no default written in the file. */
const REQUIRED_FROM_SHELL = /^\$\{[A-Z_]+:\?[^}]*\}$/;

/** The init scripts mounted into the postgres image's /docker-entrypoint-initdb.d, as paths in the repository. */
function initScripts(): string[] {
  return (postgres.volumes ?? [])
    .map((volume) => volume.split(':'))
    .filter(([, target]) => target?.startsWith('/docker-entrypoint-initdb.d'))
    .map(([source]) => source!);
}

describe('docker-compose.yml', () => {
  it('does not publish PostgreSQL: only the service reaches it, over the compose network', () => {
    expect(postgres.ports).toBeUndefined();
  });

  it('reads the secrets from the shell, never from the file', () => {
    expect(text).not.toMatch(/-----BEGIN/);
    expect(app.environment?.AUTH_SIGNING_KEY).toMatch(REQUIRED_FROM_SHELL);
    expect(app.environment?.ADMIN_PASSWORD).toBe('${ADMIN_PASSWORD:-}');
    expect(postgres.environment?.POSTGRES_PASSWORD).toMatch(REQUIRED_FROM_SHELL);
    expect(postgres.environment?.SHOP_DB_PASSWORD).toMatch(REQUIRED_FROM_SHELL);
  });

  it('runs the service as a role of its own, not as the superuser the image makes', () => {
    const superuser = postgres.environment?.POSTGRES_USER ?? 'postgres';
    const url = app.environment?.DATABASE_URL ?? '';
    const user = /^postgres:\/\/([^:@/]+)[:@]/.exec(url)?.[1];
    expect(user).toBe('shop');
    expect(user).not.toBe(superuser);
    // The service's password is the one the init script gives the role, from the shell.
    expect(url).toMatch(/^postgres:\/\/shop:\$\{SHOP_DB_PASSWORD:\?[^}]*\}@postgres:5432\/shop$/);
  });

  it('creates that role NOSUPERUSER, with the password from the environment, owning the shop database', () => {
    const scripts = initScripts();
    expect(scripts).toHaveLength(1);
    const script = readFileSync(scripts[0]!, 'utf8');
    expect(script).toMatch(/CREATE ROLE shop LOGIN NOSUPERUSER\b/);
    expect(script).toMatch(/\$SHOP_DB_PASSWORD\b|\$\{SHOP_DB_PASSWORD/);
    expect(script).toMatch(/CREATE DATABASE shop OWNER shop\b/);
  });

  it('starts the service once the database answers on the network, where the init script has run', () => {
    expect(app.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(postgres.healthcheck?.test?.join(' ')).toMatch(/pg_isready .*-h 127\.0\.0\.1 .*-d shop/);
  });
});
