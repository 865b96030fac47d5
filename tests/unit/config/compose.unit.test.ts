import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Service {
  profiles?: string[];
  image?: string;
  build?: string;
  command?: string[];
  entrypoint?: string[];
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

/** The files mounted into `service` under `under`, as paths in the repository. */
function mounted(service: Service, under: string): string[] {
  return (service.volumes ?? [])
    .map((volume) => volume.split(':'))
    .filter(([source, target]) => source?.startsWith('./') && target?.startsWith(under))
    .map(([source]) => source!);
}

/** The init scripts mounted into the postgres image's /docker-entrypoint-initdb.d, as paths in the repository. */
const initScripts = (service: Service = postgres) => mounted(service, '/docker-entrypoint-initdb.d');

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

describe('docker-compose.yml, the scale profile', () => {
  const DEFAULT_SERVICES = ['postgres', 'app'];
  const SCALE_SERVICES = ['postgres-primary', 'postgres-replica', 'pgbouncer', 'app-1', 'app-2'];
  const service = (name: string) => compose.services[name]!;
  const apps = [service('app-1'), service('app-2')];
  /** The service's role and password from the shell, through PgBouncer to `entry`. */
  const throughBouncer = (entry: string) =>
    new RegExp(`^postgres://shop:\\$\\{SHOP_DB_PASSWORD:\\?[^}]*\\}@pgbouncer:5432/${entry}$`);

  it('leaves the default services as they were: no profile, so a plain `docker compose up` starts them alone', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...DEFAULT_SERVICES, ...SCALE_SERVICES, 'jaeger'].sort());
    for (const name of DEFAULT_SERVICES) expect(service(name).profiles, name).toBeUndefined();
    for (const name of SCALE_SERVICES) expect(service(name).profiles, name).toEqual(['scale']);
  });

  it('requires from the shell no variable the default services do not: compose reads the whole file, profile or not', () => {
    const required = (names: string[]) =>
      new Set(
        names.flatMap((name) => [...JSON.stringify(service(name)).matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1])),
      );
    const byDefault = required(DEFAULT_SERVICES);
    expect([...required(SCALE_SERVICES)].filter((name) => !byDefault.has(name))).toEqual([]);
    // So the replication password is optional here, and the scripts that use it refuse to run without it.
    for (const name of ['postgres-primary', 'postgres-replica'])
      expect(service(name).environment?.REPLICATION_PASSWORD, name).toBe('${REPLICATION_PASSWORD:-}');
    for (const script of ['ops/docker/postgres-replication.sh', 'ops/docker/postgres-replica.sh'])
      expect(readFileSync(script, 'utf8'), script).toMatch(/: "\$\{REPLICATION_PASSWORD:\?/);
  });

  it('writes no secret into the file: every password and key comes from the shell', () => {
    for (const [name, { environment = {} }] of Object.entries(compose.services))
      for (const [variable, value] of Object.entries(environment)) {
        if (/PASSWORD|KEY/.test(variable)) expect(value, `${name} ${variable}`).toMatch(/^\$\{[A-Z_]+:[?-][^}]*\}$/);
        // A URL's credentials too: the password part of user:password@ is a variable, never a literal.
        const password = /^postgres:\/\/[^:@/]+:(.*)@/.exec(value)?.[1];
        if (password !== undefined) expect(password, `${name} ${variable}`).toMatch(/^\$\{[A-Z_]+:\?[^}]*\}$/);
      }
    const settings = readFileSync('ops/docker/pgbouncer.ini', 'utf8')
      .split('\n')
      .filter((line) => !/^\s*[;#]/.test(line));
    expect(settings.filter((line) => /password/i.test(line))).toEqual([]);
  });

  it('runs two instances through PgBouncer, their catalog reads on its replica entry, with one signing key', () => {
    for (const app of apps) {
      expect(app.build).toBe('.');
      expect(app.environment?.DATABASE_URL).toMatch(throughBouncer('shop'));
      expect(app.environment?.DATABASE_REPLICA_URLS).toMatch(throughBouncer('shop_replica'));
      expect(app.environment?.AUTH_SIGNING_KEY).toMatch(REQUIRED_FROM_SHELL);
      expect(app.depends_on?.pgbouncer?.condition).toBe('service_healthy');
    }
    expect(apps[0]!.environment).toEqual(apps[1]!.environment);
    expect(apps.map((app) => app.ports)).toEqual([['3001:3000'], ['3002:3000']]);
  });

  it('pools by transaction, with `shop` on the primary and `shop_replica` on the replica, the same database', () => {
    const bouncer = service('pgbouncer');
    expect(mounted(bouncer, '/etc/pgbouncer/pgbouncer.ini')).toEqual(['./ops/docker/pgbouncer.ini']);
    const ini = readFileSync('ops/docker/pgbouncer.ini', 'utf8');
    expect(ini).toMatch(/^pool_mode = transaction$/m);
    expect(ini).toMatch(/^shop = host=postgres-primary port=5432 dbname=shop$/m);
    expect(ini).toMatch(/^shop_replica = host=postgres-replica port=5432 dbname=shop$/m);
    expect(ini).toMatch(/^auth_type = scram-sha-256$/m);
    // The image writes this role's password, from the shell, to the auth_file: in plain text for SCRAM.
    expect(bouncer.environment).toMatchObject({ DB_USER: 'shop', AUTH_TYPE: 'scram-sha-256' });
    expect(bouncer.environment?.DB_PASSWORD).toMatch(/^\$\{SHOP_DB_PASSWORD:\?[^}]*\}$/);
    expect(bouncer.depends_on?.['postgres-primary']?.condition).toBe('service_healthy');
  });

  it('makes the primary ready to stream: WAL for replicas, and a replication role allowed in from the compose network', () => {
    const primary = service('postgres-primary');
    expect(primary.image).toBe('postgres:17');
    expect(primary.command?.join(' ')).toMatch(/-c wal_level=replica\b.*-c max_wal_senders=\d+/);
    expect(initScripts(primary)).toEqual(['./ops/docker/postgres-init.sh', './ops/docker/postgres-replication.sh']);
    const script = readFileSync('ops/docker/postgres-replication.sh', 'utf8');
    expect(script).toMatch(/CREATE ROLE replicator LOGIN REPLICATION NOSUPERUSER\b/);
    expect(script).toMatch(/pg_create_physical_replication_slot\('replica'\)/);
    expect(script).toMatch(/^echo 'host replication replicator samenet scram-sha-256' >> "\$PGDATA\/pg_hba\.conf"$/m);
  });

  it('makes the replica a streaming copy of the primary at its first start, then starts it as the image does', () => {
    const replica = service('postgres-replica');
    expect(replica.image).toBe('postgres:17');
    const [shell, entrypoint] = replica.entrypoint ?? [];
    expect(shell).toBe('/bin/sh');
    expect(mounted(replica, entrypoint!)).toEqual(['./ops/docker/postgres-replica.sh']);
    const script = readFileSync('ops/docker/postgres-replica.sh', 'utf8');
    expect(script).toMatch(/if \[ ! -s "\$PGDATA\/PG_VERSION" \]/);
    expect(script).toMatch(
      /pg_basebackup[^]*--host=postgres-primary[^]*--username=replicator[^]*--write-recovery-conf/,
    );
    expect(script.trimEnd()).toMatch(/\nexec docker-entrypoint\.sh postgres$/);
    expect(replica.depends_on?.['postgres-primary']?.condition).toBe('service_healthy');
  });
});

describe('docker-compose.yml, the tracing profile', () => {
  it('has Jaeger, its UI on this machine alone, and tracing off unless the shell names it', () => {
    const jaeger = compose.services.jaeger!;
    expect(jaeger.profiles).toEqual(['tracing']);
    expect(jaeger.image).toMatch(/^jaegertracing\/all-in-one:\d+\.\d+\.\d+$/);
    expect(jaeger.ports).toEqual(['127.0.0.1:16686:16686']);
    expect(app.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('${OTEL_EXPORTER_OTLP_ENDPOINT:-}');
    expect(app.profiles).toBeUndefined();
  });
});
