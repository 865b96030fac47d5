import { type Kysely, sql } from 'kysely';

/**
 * A campaign's quantity split across up to 32 rows (stripes), so that concurrent issues claim different rows
 * instead of queueing on one: the campaign row stops being written once it is made. `issuedQuantity` is the
 * sum of the stripes' counts, read in one statement, so it is exact at every moment it is read.
 *
 * The database makes the stripes as it makes the campaign row (an AFTER INSERT trigger), so no path (the
 * route, a seed, a test's or the bench's own INSERT) can make a campaign without them or with the wrong split:
 * stripe i of n = least(total, 32) holds total / n, one more for the first total % n. The functions keep the
 * search_path they were made with, so a session with another one (an operator's, a superuser's) still finds
 * the table.
 */
export const STRIPES = 32;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE coupon_stripes (
      coupon_id bigint NOT NULL REFERENCES coupons (id),
      stripe    integer NOT NULL CHECK (stripe BETWEEN 0 AND ${sql.lit(STRIPES - 1)}),
      quantity  bigint NOT NULL CHECK (quantity >= 1),
      issued    bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (coupon_id, stripe),
      -- Never more issued from a stripe than it holds, whatever the code does.
      CONSTRAINT coupon_stripes_issued_within_quantity CHECK (issued BETWEEN 0 AND quantity)
    ) WITH (fillfactor = 50)`.execute(db);

  await sql`
    CREATE FUNCTION coupon_stripes_split(coupon bigint, total bigint) RETURNS void
    LANGUAGE sql SET search_path FROM CURRENT AS $$
      INSERT INTO coupon_stripes (coupon_id, stripe, quantity)
      SELECT coupon, i, total / n + CASE WHEN i < total % n THEN 1 ELSE 0 END
      FROM (SELECT least(total, ${sql.lit(STRIPES)}) AS n) AS split, generate_series(0, n - 1) AS i
    $$`.execute(db);
  await sql`
    CREATE FUNCTION coupons_make_stripes() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
      PERFORM coupon_stripes_split(NEW.id, NEW.total_quantity);
      RETURN NULL;
    END
    $$`.execute(db);

  // The campaigns already there: split the same way, with what they have issued filled in stripe by stripe.
  // Each copy is then given a stripe that counted it, which needs the copies to be as many as the count;
  // where they are not, which of the two is right is for an operator to say, so the migration stops here.
  await assertCopiesMatchTheirCount(db);
  await sql`
SELECT coupon_stripes_split(id, total_quantity) FROM coupons`.execute(db);
  await sql`
    UPDATE coupon_stripes s
    SET issued = greatest(0, least(s.quantity, c.issued_quantity - filled.before))
    FROM coupons c, (
      SELECT coupon_id, stripe, sum(quantity) OVER (PARTITION BY coupon_id ORDER BY stripe) - quantity AS before
      FROM coupon_stripes
    ) filled
    WHERE c.id = s.coupon_id AND filled.coupon_id = s.coupon_id AND filled.stripe = s.stripe`.execute(db);

  // Each copy names the stripe that counted it. Its foreign key is checked against that stripe's row, which
  // the issuing statement holds already, and not against the campaign's row: a key share lock taken there by
  // every concurrent issue would make the campaign one hot row again (a multixact rewritten per issue).
  await sql`ALTER TABLE user_coupons ADD COLUMN stripe integer`.execute(db);
  await sql`
    UPDATE user_coupons u SET stripe = s.stripe
    FROM (
      SELECT id, coupon_id, row_number() OVER (PARTITION BY coupon_id ORDER BY id) AS n FROM user_coupons
    ) copy, (
      SELECT coupon_id, stripe, sum(issued) OVER (PARTITION BY coupon_id ORDER BY stripe) AS upto, issued
      FROM coupon_stripes
    ) s
    WHERE copy.id = u.id AND s.coupon_id = copy.coupon_id AND copy.n > s.upto - s.issued AND copy.n <= s.upto`.execute(
    db,
  );
  await sql`
    ALTER TABLE user_coupons
      ALTER COLUMN stripe SET NOT NULL,
      ADD CONSTRAINT user_coupons_stripe_fkey FOREIGN KEY (coupon_id, stripe) REFERENCES coupon_stripes,
      DROP CONSTRAINT user_coupons_coupon_id_fkey`.execute(db);

  await sql`
    CREATE TRIGGER coupons_stripes AFTER INSERT ON coupons
    FOR EACH ROW EXECUTE FUNCTION coupons_make_stripes()`.execute(db);
  await sql`ALTER TABLE coupons DROP COLUMN issued_quantity`.execute(db);
}

async function assertCopiesMatchTheirCount(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ id: string; issued: string; copies: string }>`
    SELECT c.id, c.issued_quantity AS issued, count(u.id) AS copies
    FROM coupons c LEFT JOIN user_coupons u ON u.coupon_id = c.id
    GROUP BY c.id HAVING c.issued_quantity <> count(u.id)
    ORDER BY c.id`.execute(db);
  if (rows.length === 0) return;
  const named = rows.map((row) => `campaign ${row.id} (issued_quantity ${row.issued}, copies ${row.copies})`);
  throw new Error(
    `${rows.length} campaign(s) hold a number of copies in user_coupons other than their issued_quantity: ` +
      `${named.join(', ')}. Make each issued_quantity equal its copies, or the copies right, then migrate again.`,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE coupons ADD COLUMN issued_quantity bigint NOT NULL DEFAULT 0`.execute(db);
  await sql`
    UPDATE coupons c SET issued_quantity = (SELECT coalesce(sum(issued), 0) FROM coupon_stripes WHERE coupon_id = c.id)
  `.execute(db);
  await sql`
    ALTER TABLE coupons ADD CONSTRAINT coupons_issued_within_total CHECK (issued_quantity BETWEEN 0 AND total_quantity)
  `.execute(db);
  await sql`
    ALTER TABLE user_coupons
      ADD CONSTRAINT user_coupons_coupon_id_fkey FOREIGN KEY (coupon_id) REFERENCES coupons,
      DROP COLUMN stripe`.execute(db);
  await sql`DROP TRIGGER coupons_stripes ON coupons`.execute(db);
  await sql`DROP FUNCTION coupons_make_stripes()`.execute(db);
  await sql`DROP FUNCTION coupon_stripes_split(bigint, bigint)`.execute(db);
  await sql`DROP TABLE coupon_stripes`.execute(db);
}
