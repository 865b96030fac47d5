import { type Kysely, sql } from 'kysely';

/**
 * The back office's audit log: one row per admin action, written in the transaction of its effect, never
 * changed afterwards. Its actions are checked for their shape, not listed, so a new admin route needs no
 * migration. Initial stock and admin adjustments name the entry that made them, which `npm run check`
 * holds them to.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE audit_log (
      id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at         timestamptz NOT NULL DEFAULT now(),
      actor_id   bigint REFERENCES users (id),
      action     text NOT NULL CHECK (char_length(action) <= 64 AND action ~ '^[a-z][a-z_]*([.][a-z][a-z_]*)+$'),
      target     jsonb NOT NULL CHECK (jsonb_typeof(target) = 'object' AND target ? 'type' AND target ? 'id'),
      before     jsonb CHECK (jsonb_typeof(before) = 'object'),
      after      jsonb CHECK (jsonb_typeof(after) = 'object'),
      request_id text NOT NULL CHECK (char_length(request_id) BETWEEN 1 AND 200),
      trace_id   text CHECK (trace_id ~ '^[0-9a-f]{32}$')
    )`.execute(db);
  // The log's two filters, each read newest first.
  await sql`CREATE INDEX audit_log_by_actor ON audit_log (actor_id, id DESC)`.execute(db);
  await sql`CREATE INDEX audit_log_by_action ON audit_log (action, id DESC)`.execute(db);

  // Append-only, twice over. The trigger refuses every role's UPDATE, DELETE and TRUNCATE, the table's owner
  // included: the service's role owns it, as it runs the migrations (as owner it could still drop or disable
  // the trigger by DDL, which `npm run check` reports). The privileges refuse the owner's UPDATE, DELETE and TRUNCATE
  // before any trigger runs, but for UPDATE of the identity column alone: a foreign key naming an entry
  // locks it FOR KEY SHARE to check it, which PostgreSQL allows only to a role that may update a column of
  // it. That column can only be set to DEFAULT, which the trigger refuses too. Only DDL could undo either.
  const { rows } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db);
  await sql`
    CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
    LANGUAGE plpgsql SET search_path = ${sql.id(rows[0]!.schema)}, pg_temp AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$`.execute(db);
  await sql`
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()`.execute(db);
  await sql`
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()`.execute(db);
  // An entry is dated by the database and numbered by the log's own sequence, whatever the insert says:
  // `at` is set here, and an id given with OVERRIDING SYSTEM VALUE is refused.
  await sql`
    CREATE FUNCTION audit_log_stamp() RETURNS trigger
    LANGUAGE plpgsql SET search_path = ${sql.id(rows[0]!.schema)}, pg_temp AS $$
    BEGIN
      IF NEW.id IS DISTINCT FROM currval(pg_get_serial_sequence('audit_log', 'id')) THEN
        RAISE EXCEPTION 'audit_log numbers its own entries' USING ERRCODE = 'insufficient_privilege';
      END IF;
      NEW.at := now();
      RETURN NEW;
    END
    $$`.execute(db);
  await sql`
    CREATE TRIGGER audit_log_stamp BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_stamp()`.execute(db);
  await sql`REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC, CURRENT_USER`.execute(db);
  await sql`GRANT UPDATE (id) ON audit_log TO CURRENT_USER`.execute(db);

  // A cancellation's restock is no admin action and names no entry; at most one adjustment names an entry.
  await sql`
    ALTER TABLE stock_adjustments
      ADD COLUMN audit_entry_id bigint REFERENCES audit_log (id),
      ADD CONSTRAINT stock_adjustments_audit_entry CHECK (audit_entry_id IS NULL OR reason <> 'CANCELLATION')`.execute(
    db,
  );
  await sql`
    CREATE UNIQUE INDEX stock_adjustments_by_audit_entry ON stock_adjustments (audit_entry_id)
    WHERE audit_entry_id IS NOT NULL`.execute(db);
  // Where the audited stock rows begin: every INITIAL or ADJUSTMENT row after this id must name its entry
  // (`npm run check`); the ones up to it were written before there was a log.
  await sql`
    CREATE TABLE audit_log_since (
      last_unaudited_adjustment bigint NOT NULL,
      one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row)
    )`.execute(db);
  await sql`
    INSERT INTO audit_log_since (last_unaudited_adjustment)
    SELECT coalesce(max(id), 0) FROM stock_adjustments`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE audit_log_since`.execute(db);
  await sql`ALTER TABLE stock_adjustments DROP COLUMN audit_entry_id`.execute(db);
  await sql`DROP TABLE audit_log`.execute(db);
  await sql`DROP FUNCTION audit_log_refuse_change()`.execute(db);
  await sql`DROP FUNCTION audit_log_stamp()`.execute(db);
}
