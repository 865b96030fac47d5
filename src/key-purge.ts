import type { DependencyContainer } from 'tsyringe';
import { IDEMPOTENCY_KEY_TTL_MS } from './application/idempotency/run-idempotently.js';
import { TOKENS } from './container-tokens.js';
import { CLIENT_RATE_WINDOW_MS } from './domain/account/client-rate-limit.js';
import { LOGIN_FAILURE_WINDOW_MS } from './domain/account/refresh-token.js';

/**
 * Deletes Idempotency-Key records past their 24 hours, login attempts and client request counts past
 * their windows, and logins past their lifetime with their refresh tokens, once at start and then hourly.
 * (Expired ones are already ignored on lookup; this only keeps the tables small.)
 */
export function startKeyPurge(c: DependencyContainer, onError: (error: unknown) => void): { stop(): void } {
  const keys = c.resolve(TOKENS.IdempotencyKeyPurge);
  const logins = c.resolve(TOKENS.LoginAttempts);
  const clients = c.resolve(TOKENS.ClientRequestCounter);
  const clock = c.resolve(TOKENS.Clock);
  const refreshTokens = c.resolve(TOKENS.RefreshTokenPurge);
  // A spent token shown again ends the access tokens of its login, the last of which outlives the login by
  // up to an access token's lifetime: till then the login's rows still matter.
  const refreshGraceMs = c.resolve(TOKENS.AccessTokens).lifetimeSeconds * 1000;
  const purge = () => {
    void keys.purge(new Date(clock.now().getTime() - IDEMPOTENCY_KEY_TTL_MS)).catch(onError);
    void logins.purge(LOGIN_FAILURE_WINDOW_MS).catch(onError);
    void refreshTokens.purge(new Date(clock.now().getTime() - refreshGraceMs)).catch(onError);
    void clients.purge(CLIENT_RATE_WINDOW_MS).catch(onError);
  };
  purge();
  const timer = setInterval(purge, 60 * 60 * 1000).unref();
  return { stop: () => clearInterval(timer) };
}
