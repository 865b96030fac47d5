/** PostgreSQL's SQLSTATEs for the constraint violations the adapters turn into answers. */
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';
const CHECK_VIOLATION = '23514';

function violates(error: unknown, sqlState: string, constraint: string): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === sqlState &&
    (error as { constraint?: unknown }).constraint === constraint
  );
}

export const isUniqueViolation = (error: unknown, constraint: string) => violates(error, UNIQUE_VIOLATION, constraint);
export const isForeignKeyViolation = (error: unknown, constraint: string) =>
  violates(error, FOREIGN_KEY_VIOLATION, constraint);
export const isCheckViolation = (error: unknown, constraint: string) => violates(error, CHECK_VIOLATION, constraint);

const UNAVAILABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/**
 * True when the error says the database could not be reached or is going away, rather than that a
 * statement was wrong: no free connection within the pool's timeout, a refused or dropped connection,
 * the server shutting down or out of connections. The request may succeed if retried shortly.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, syscall } = error as { code?: unknown; message?: unknown; syscall?: unknown };
  if (typeof code === 'string') {
    if (UNAVAILABLE_NETWORK_CODES.has(code)) return true;
    // A server on a Unix socket that is gone: its socket file went with it.
    if (code === 'ENOENT' && syscall === 'connect') return true;
    // SQLSTATE class 08 (connection exception), 57P01-57P03 (shutting down, cannot connect now),
    // 53300 (too many connections), 57014 (statement_timeout: cancelled) and 55P03 (lock_timeout): the
    // database is too busy to answer in time, and the request may succeed if retried.
    if (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300', '57014', '55P03'].includes(code)) return true;
  }
  return (
    typeof message === 'string' &&
    /timeout exceeded when trying to connect|Connection terminated|is not queryable/i.test(message)
  );
}
