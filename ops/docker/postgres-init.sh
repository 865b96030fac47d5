#!/bin/sh
# The postgres image runs this once, on an empty data directory, as its superuser. The service gets a role of
# its own that owns the shop's database and nothing more: a superuser could read or change any database and
# run programs on the server, which the service never needs.
set -e
: "${SHOP_DB_PASSWORD:?export SHOP_DB_PASSWORD: the password of the role the service connects as}"

# The password goes in as a psql variable, quoted by psql (:'password'), never pasted into the SQL.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v password="$SHOP_DB_PASSWORD" <<'SQL'
CREATE ROLE shop LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
CREATE DATABASE shop OWNER shop;
REVOKE ALL ON DATABASE shop FROM PUBLIC;
SQL
