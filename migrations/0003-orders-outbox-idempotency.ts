import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE orders (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      user_id         bigint NOT NULL REFERENCES users (id),
      status          text NOT NULL CHECK (status = 'PAID'),
      total_amount    bigint NOT NULL CHECK (total_amount >= 0),
      discount_amount bigint NOT NULL CHECK (discount_amount BETWEEN 0 AND total_amount),
      paid_amount     bigint NOT NULL CHECK (paid_amount = total_amount - discount_amount),
      -- A copy of a coupon pays for one order at most.
      user_coupon_id  bigint UNIQUE REFERENCES user_coupons (id),
      created_at      timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX orders_user_id_id ON orders (user_id, id DESC)`.execute(db);

  await sql`
    CREATE TABLE order_lines (
      order_id   bigint NOT NULL REFERENCES orders (id),
      line_no    integer NOT NULL CHECK (line_no BETWEEN 1 AND 50),
      product_id bigint NOT NULL REFERENCES products (id),
      name       text NOT NULL,
      quantity   integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
      unit_price bigint NOT NULL CHECK (unit_price >= 1),
      amount     bigint NOT NULL CHECK (amount = unit_price * quantity),
      PRIMARY KEY (order_id, line_no),
      CONSTRAINT order_lines_distinct_products UNIQUE (order_id, product_id)
    )`.execute(db);
  await sql`CREATE INDEX order_lines_product_id ON order_lines (product_id)`.execute(db);

  await sql`
    CREATE TABLE payments (
      id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      order_id bigint NOT NULL UNIQUE REFERENCES orders (id),
      user_id  bigint NOT NULL REFERENCES users (id),
      amount   bigint NOT NULL CHECK (amount >= 0),
      paid_at  timestamptz NOT NULL
    )`.execute(db);

  // The transactional outbox: written with the order, delivered after commit by the relay.
  await sql`
    CREATE TABLE data_platform_outbox (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      event_id        uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
      order_id        bigint NOT NULL UNIQUE REFERENCES orders (id),
      payload         jsonb NOT NULL,
      status          text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
      attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      last_error      text,
      next_attempt_at timestamptz NOT NULL,
      delivered_at    timestamptz,
      created_at      timestamptz NOT NULL,
      CONSTRAINT data_platform_outbox_delivered CHECK ((status = 'DELIVERED') = (delivered_at IS NOT NULL))
    )`.execute(db);
  await sql`CREATE INDEX data_platform_outbox_due ON data_platform_outbox (next_attempt_at) WHERE status = 'PENDING'`.execute(
    db,
  );
  await sql`CREATE INDEX data_platform_outbox_status_id ON data_platform_outbox (status, id)`.execute(db);

  // Responses kept for Idempotency-Key retries. No foreign key to users: a 404 for an unknown user is kept too.
  await sql`
    CREATE TABLE idempotency_keys (
      user_id      bigint NOT NULL,
      key          text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
      route        text NOT NULL,
      request_hash text NOT NULL,
      status_code  integer NOT NULL,
      response     jsonb NOT NULL,
      created_at   timestamptz NOT NULL,
      PRIMARY KEY (user_id, key)
    )`.execute(db);
  await sql`CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at)`.execute(db);

  await sql`ALTER TABLE balance_ledger ADD CONSTRAINT balance_ledger_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id)`.execute(
    db,
  );
  await sql`ALTER TABLE user_coupons ADD CONSTRAINT user_coupons_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE user_coupons DROP CONSTRAINT user_coupons_order_id_fkey`.execute(db);
  await sql`ALTER TABLE balance_ledger DROP CONSTRAINT balance_ledger_order_id_fkey`.execute(db);
  await sql`DROP TABLE idempotency_keys`.execute(db);
  await sql`DROP TABLE data_platform_outbox`.execute(db);
  await sql`DROP TABLE payments`.execute(db);
  await sql`DROP TABLE order_lines`.execute(db);
  await sql`DROP TABLE orders`.execute(db);
}
