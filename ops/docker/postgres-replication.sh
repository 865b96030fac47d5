#!/bin/sh
# The scale profile's primary runs this once, on its empty data directory, after postgres-init.sh. The replica
# streams as a role of its own that may replicate and nothing else, through a slot that keeps the WAL it has
# not received yet (up to the primary's max_slot_wal_keep_size) while it restarts.
set -e
: "${REPLICATION_PASSWORD:?export REPLICATION_PASSWORD: the password of the role the replica streams as}"

# The password goes in as a psql variable, quoted by psql (:'password'), never pasted into the SQL.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'password';
SELECT pg_create_physical_replication_slot('replica');
SQL

# Replication connections match no "all" line of pg_hba.conf: this one lets the role in from the server's own
# subnets (samenet), which in a container is the compose network, and from nowhere else.
echo 'host replication replicator samenet scram-sha-256' >> "$PGDATA/pg_hba.conf"
