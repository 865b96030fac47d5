import { type Kysely, sql } from 'kysely';

/**
 * No copy of a coupon is stored outside its campaign's issue window, by the database's clock at the instant
 * the row is in. An AFTER INSERT trigger judges it once the copy's row and its index entries are written, so
 * after every wait of the issuing statement (on a stripe's row lock, or on the unique (coupon, user) key
 * that an earlier, uncommitted copy of the same user holds), which a check before the INSERT cannot see
 * past. The function keeps the schema's search_path, pg_temp last, so no temporary table shadows `coupons`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db);
  await sql`
    CREATE FUNCTION user_coupons_issued_in_window() RETURNS trigger
    LANGUAGE plpgsql SET search_path = ${sql.id(rows[0]!.schema)}, pg_temp AS $$
    BEGIN
      IF EXISTS (
        SELECT FROM coupons WHERE id = NEW.coupon_id
          AND NOT ((issue_starts_at IS NULL OR issue_starts_at <= clock_timestamp())
            AND (issue_ends_at IS NULL OR clock_timestamp() < issue_ends_at))
      ) THEN
        RAISE EXCEPTION 'coupon % is outside its issue window', NEW.coupon_id
          USING ERRCODE = 'check_violation', TABLE = 'user_coupons', CONSTRAINT = 'user_coupons_issued_in_window';
      END IF;
      RETURN NULL;
    END
    $$`.execute(db);
  await sql`
    CREATE TRIGGER user_coupons_issued_in_window AFTER INSERT ON user_coupons
    FOR EACH ROW EXECUTE FUNCTION user_coupons_issued_in_window()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TRIGGER user_coupons_issued_in_window ON user_coupons`.execute(db);
  await sql`DROP FUNCTION user_coupons_issued_in_window()`.execute(db);
}
