/** PostgreSQL's SQLSTATEs for the constraint violations the adapters turn into answers. */
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

function violates(error: unknown, sqlState: string, constraint: string): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === sqlState &&
    (error as { constraint?: unknown }).constraint === constraint
  );
}

export const isUniqueViolation = (error: unknown, constraint: string) => violates(error, UNIQUE_VIOLATION, constraint);
export const isForeignKeyViolation = (error: unknown, constraint: string) => violates(error, FOREIGN_KEY_VIOLATION, constraint);
