import { z } from 'zod';

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const schema = z.object({
  PORT: integer(0, 65_535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional()
    .describe('unset: an embedded PostgreSQL under .data/'),
  DATABASE_POOL_SIZE: integer(1, 500).default(20),
  DATABASE_POOL_TIMEOUT_MS: integer(100, 120_000).default(5_000),
  EMBEDDED_PG_PORT: integer(1, 65_535).default(54_329),
  EMBEDDED_PG_DATA_DIR: z.string().min(1).default('.data/postgres'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHOP_TIMEZONE: z.string().refine(isTimeZone, 'must be an IANA time zone such as Asia/Seoul').default('Asia/Seoul'),
  DATA_PLATFORM_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  DATA_PLATFORM_MAX_ATTEMPTS: integer(1, 100).default(10),
  DATA_PLATFORM_TIMEOUT_MS: integer(100, 60_000).default(5_000),
  DATA_PLATFORM_BACKOFF_BASE_MS: integer(10, 600_000).default(1_000),
  DATA_PLATFORM_BACKOFF_CAP_MS: integer(10, 3_600_000).default(60_000),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default(10_000),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((line) => `  ${line}`).join('\n')}`);
  }
}

/** Reads the environment once. An empty variable counts as unset. Every bad value is reported, one line each. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(given);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}=${JSON.stringify(env[String(issue.path[0])])}: ${issue.message}`,
    ),
  );
}
