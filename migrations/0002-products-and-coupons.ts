import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE products (
      id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
      price      bigint NOT NULL CHECK (price BETWEEN 1 AND 100000000),
      stock      bigint NOT NULL CHECK (stock BETWEEN 0 AND 1000000000),
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`.execute(db);

  // Every change of stock that is not a sale. With the order lines it accounts for all stock:
  // sum(delta) = stock + units sold, per product.
  await sql`
    CREATE TABLE stock_adjustments (
      id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      product_id bigint NOT NULL REFERENCES products (id),
      delta      bigint NOT NULL,
      reason     text NOT NULL,
      created_at timestamptz NOT NULL,
      CONSTRAINT stock_adjustments_shape CHECK (
        (reason = 'INITIAL' AND delta >= 0) OR (reason = 'ADJUSTMENT' AND delta <> 0)
      )
    )`.execute(db);
  await sql`CREATE INDEX stock_adjustments_product_id ON stock_adjustments (product_id)`.execute(db);

  await sql`
    CREATE TABLE coupons (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
      discount_type   text NOT NULL,
      discount_value  bigint NOT NULL,
      total_quantity  bigint NOT NULL CHECK (total_quantity BETWEEN 1 AND 10000000),
      issued_quantity bigint NOT NULL DEFAULT 0,
      valid_days      integer NOT NULL CHECK (valid_days BETWEEN 1 AND 365),
      issue_starts_at timestamptz,
      issue_ends_at   timestamptz,
      created_at      timestamptz NOT NULL,
      CONSTRAINT coupons_discount CHECK (
        (discount_type = 'FIXED' AND discount_value BETWEEN 1 AND 10000000)
        OR (discount_type = 'PERCENT' AND discount_value BETWEEN 1 AND 100)
      ),
      -- First come, first served, enforced by the database too: never more issued than there are.
      CONSTRAINT coupons_issued_within_total CHECK (issued_quantity BETWEEN 0 AND total_quantity),
      CONSTRAINT coupons_issue_window CHECK (issue_starts_at < issue_ends_at)
    )`.execute(db);

  await sql`
    CREATE TABLE user_coupons (
      id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      coupon_id  bigint NOT NULL REFERENCES coupons (id),
      user_id    bigint NOT NULL REFERENCES users (id),
      issued_at  timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at    timestamptz,
      order_id   bigint,
      -- At most one copy per user per campaign, whatever the code does.
      CONSTRAINT user_coupons_one_per_user UNIQUE (coupon_id, user_id),
      CONSTRAINT user_coupons_used_with_order CHECK ((used_at IS NULL) = (order_id IS NULL)),
      CONSTRAINT user_coupons_expiry CHECK (expires_at > issued_at)
    )`.execute(db);
  await sql`CREATE INDEX user_coupons_user_id_id ON user_coupons (user_id, id DESC)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE user_coupons`.execute(db);
  await sql`DROP TABLE coupons`.execute(db);
  await sql`DROP TABLE stock_adjustments`.execute(db);
  await sql`DROP TABLE products`.execute(db);
}
