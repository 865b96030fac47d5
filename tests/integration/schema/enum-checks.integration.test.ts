import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { LEDGER_ENTRY_TYPES } from '../../../src/domain/balance/balance.js';
import { DISCOUNT_TYPES } from '../../../src/domain/coupon/coupon.js';
import { DATA_PLATFORM_EVENT_TYPES, DELIVERY_STATUSES } from '../../../src/domain/data-platform/delivery.js';
import { ORDER_STATUSES } from '../../../src/domain/order/order.js';
import { STOCK_ADJUSTMENT_REASONS } from '../../../src/domain/product/product.js';
import { ROLES } from '../../../src/domain/user/user.js';
import { useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase({ poolSize: 2 });

/** Each enum column, with the domain list its migration's CHECK must spell out. */
const ENUM_COLUMNS: { table: string; column: string; values: readonly string[] }[] = [
  { table: 'balance_ledger', column: 'type', values: LEDGER_ENTRY_TYPES },
  { table: 'data_platform_outbox', column: 'status', values: DELIVERY_STATUSES },
  { table: 'data_platform_outbox', column: 'type', values: DATA_PLATFORM_EVENT_TYPES },
  { table: 'orders', column: 'status', values: ORDER_STATUSES },
  { table: 'coupons', column: 'discount_type', values: DISCOUNT_TYPES },
  { table: 'stock_adjustments', column: 'reason', values: STOCK_ADJUSTMENT_REASONS },
  { table: 'users', column: 'role', values: ROLES },
];

/** The CHECK constraints of the migrated schema that involve `table.column`, as PostgreSQL prints them. */
async function checksOn(table: string, column: string): Promise<string[]> {
  const { rows } = await sql<{ definition: string }>`
    SELECT pg_get_constraintdef(c.oid) AS definition
    FROM pg_constraint c
    JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (c.conkey)
    WHERE c.contype = 'c' AND n.nspname = current_schema() AND t.relname = ${table} AND a.attname = ${column}
    ORDER BY c.conname`.execute(database.db);
  return rows.map((row) => row.definition);
}

const QUOTED = /'((?:[^']|'')*)'/g;

/**
 * The literals a CHECK compares `column` with, in the two shapes PostgreSQL prints a comparison:
 * `(status = 'PAID'::text)` and, for `status IN (…)`, `(status = ANY (ARRAY['PENDING'::text, …]))`.
 */
function literalsOf(column: string, definition: string): string[] {
  const subject = `(?<![\\w.])\\(?${column}\\)?(?:::[\\w ]+)?\\s*=\\s*`;
  const single = new RegExp(`${subject}'((?:[^']|'')*)'`, 'g');
  const list = new RegExp(`${subject}ANY\\s*\\(\\s*\\(?ARRAY\\[([^\\]]*)\\]`, 'g');
  const quoted = [
    ...[...definition.matchAll(single)].map((match) => match[1]!),
    ...[...definition.matchAll(list)].flatMap((match) => [...match[1]!.matchAll(QUOTED)].map((inner) => inner[1]!)),
  ];
  return quoted.map((literal) => literal.replaceAll("''", "'")).sort();
}

describe('the migrations’ CHECKs on enum columns', () => {
  for (const { table, column, values } of ENUM_COLUMNS) {
    it(`${table}.${column} allows exactly the domain’s list`, async () => {
      const definitions = await checksOn(table, column);
      const lists = definitions.map((definition) => literalsOf(column, definition));
      const context = `CHECKs on ${table}.${column}:\n${definitions.join('\n')}`;

      // One CHECK spells out the list (others, like "DELIVERED iff delivered_at", may name some of its values).
      expect(lists, context).toContainEqual([...values].sort());
      expect(
        lists.flat().filter((literal) => !values.includes(literal)),
        context,
      ).toEqual([]);
    });
  }
});
