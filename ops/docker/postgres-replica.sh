#!/bin/sh
# The scale profile's replica. On an empty data directory it first copies the primary with pg_basebackup -R,
# which writes standby.signal and primary_conninfo (the slot too), so the server starts as a streaming
# standby; then the image's own entrypoint starts PostgreSQL on that copy, as on any existing data directory.
set -e
: "${REPLICATION_PASSWORD:?export REPLICATION_PASSWORD: the password of the role the replica streams as}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 0700 "$PGDATA"
  # The password reaches pg_basebackup through its environment, never its command line; -R keeps it in
  # primary_conninfo, which the standby needs to connect again after a restart.
  PGPASSWORD="$REPLICATION_PASSWORD" gosu postgres pg_basebackup \
    --host=postgres-primary --port=5432 --username=replicator \
    --pgdata="$PGDATA" --wal-method=stream --slot=replica --write-recovery-conf
fi

exec docker-entrypoint.sh postgres
