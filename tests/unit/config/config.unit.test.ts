import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';

describe('loadConfig', () => {
  it('fills in the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      PORT: 3000,
      HOST: '0.0.0.0',
      DATABASE_POOL_SIZE: 20,
      DATABASE_POOL_TIMEOUT_MS: 5_000,
      EMBEDDED_PG_PORT: 54_329,
      EMBEDDED_PG_DATA_DIR: '.data/postgres',
      LOG_LEVEL: 'info',
      SHOP_TIMEZONE: 'Asia/Seoul',
      DATA_PLATFORM_MAX_ATTEMPTS: 10,
      DATA_PLATFORM_TIMEOUT_MS: 5_000,
      DATA_PLATFORM_BACKOFF_BASE_MS: 1_000,
      DATA_PLATFORM_BACKOFF_CAP_MS: 60_000,
      SHUTDOWN_TIMEOUT_MS: 10_000,
    });
  });

  it('reads given values and treats an empty variable as unset', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://u:p@db:5432/shop',
      SHOP_TIMEZONE: 'Europe/Paris',
      LOG_LEVEL: '',
    });
    expect(config).toMatchObject({
      PORT: 8080,
      DATABASE_URL: 'postgres://u:p@db:5432/shop',
      SHOP_TIMEZONE: 'Europe/Paris',
      LOG_LEVEL: 'info',
    });
  });

  it('reports every bad value, one line each, naming the variable and what it got', () => {
    const load = () =>
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        SHOP_TIMEZONE: 'Mars/Olympus',
        DATA_PLATFORM_URL: 'ftp://x',
        LOG_LEVEL: 'loud',
      });
    expect(load).toThrow(ConfigError);
    try {
      load();
    } catch (error) {
      const problems = (error as ConfigError).problems;
      expect(problems).toHaveLength(5);
      expect(problems.map((line) => line.split('=')[0])).toEqual(
        expect.arrayContaining(['PORT', 'DATABASE_URL', 'SHOP_TIMEZONE', 'DATA_PLATFORM_URL', 'LOG_LEVEL']),
      );
      expect(problems.find((line) => line.startsWith('PORT='))).toContain('"eighty"');
    }
  });
});
