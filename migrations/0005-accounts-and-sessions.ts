import { type Kysely, sql } from 'kysely';

/**
 * Accounts: every user gets a role, a token version (our own tokens carry it) and a tokens-not-before instant
 * (logout-all sets it; an identity provider's tokens issued before it are refused); a password login is a
 * credential row whose email is unique in its folded form (the index decides, not a check in code); an identity
 * provider's account is linked by (issuer, subject), never by email. Refresh tokens live in families (one per
 * login); failed logins are counted here so every instance sees the same count.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE users
      ADD COLUMN role text NOT NULL DEFAULT 'CUSTOMER' CONSTRAINT users_role CHECK (role IN ('CUSTOMER', 'ADMIN')),
      ADD COLUMN email text CHECK (char_length(email) <= 254),
      ADD COLUMN token_version integer NOT NULL DEFAULT 0,
      ADD COLUMN tokens_not_before timestamptz`.execute(db);

  await sql`
    CREATE TABLE password_credentials (
      user_id       bigint PRIMARY KEY REFERENCES users (id),
      email         text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
      password_hash text NOT NULL
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX password_credentials_email ON password_credentials (lower(email))`.execute(db);

  await sql`
    CREATE TABLE external_identities (
      issuer  text NOT NULL,
      subject text NOT NULL,
      user_id bigint NOT NULL REFERENCES users (id),
      PRIMARY KEY (issuer, subject)
    )`.execute(db);

  await sql`
    CREATE TABLE refresh_token_families (
      id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      user_id    bigint NOT NULL REFERENCES users (id),
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      ended_at   timestamptz
    )`.execute(db);
  await sql`CREATE INDEX refresh_token_families_user_id ON refresh_token_families (user_id) WHERE ended_at IS NULL`.execute(
    db,
  );
  await sql`
    CREATE TABLE refresh_tokens (
      token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
      family_id  bigint NOT NULL REFERENCES refresh_token_families (id),
      created_at timestamptz NOT NULL,
      spent_at   timestamptz
    )`.execute(db);
  await sql`CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id)`.execute(db);

  await sql`
    CREATE TABLE login_attempts (
      id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      email_key    text NOT NULL,
      attempted_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX login_attempts_email_key ON login_attempts (email_key, attempted_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE login_attempts`.execute(db);
  await sql`DROP TABLE refresh_tokens`.execute(db);
  await sql`DROP TABLE refresh_token_families`.execute(db);
  await sql`DROP TABLE external_identities`.execute(db);
  await sql`DROP TABLE password_credentials`.execute(db);
  await sql`
    ALTER TABLE users
      DROP COLUMN role, DROP COLUMN email, DROP COLUMN token_version, DROP COLUMN tokens_not_before`.execute(db);
}
