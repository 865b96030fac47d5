import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE users (
      id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  // One row per user, created with the user. The limits mirror the Balance entity, so a bug in code
  // can't store a negative balance or one past the ceiling.
  await sql`
    CREATE TABLE balances (
      user_id    bigint PRIMARY KEY REFERENCES users (id),
      amount     bigint NOT NULL CHECK (amount BETWEEN 0 AND 1000000000),
      updated_at timestamptz NOT NULL
    )`.execute(db);

  await sql`
    CREATE TABLE balance_ledger (
      id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      user_id       bigint NOT NULL REFERENCES balances (user_id),
      type          text NOT NULL,
      amount        bigint NOT NULL,
      balance_after bigint NOT NULL CHECK (balance_after BETWEEN 0 AND 1000000000),
      order_id      bigint,
      created_at    timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT balance_ledger_entry_shape CHECK (
        (type = 'CHARGE' AND amount BETWEEN 1 AND 10000000 AND order_id IS NULL)
        OR (type = 'PAYMENT' AND amount <= 0 AND order_id IS NOT NULL)
      )
    )`.execute(db);
  // History is read newest first per user.
  await sql`CREATE INDEX balance_ledger_user_id_id ON balance_ledger (user_id, id DESC)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE balance_ledger`.execute(db);
  await sql`DROP TABLE balances`.execute(db);
  await sql`DROP TABLE users`.execute(db);
}
