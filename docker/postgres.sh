#!/bin/bash
# The server of the postgres image: a cluster initialised once on the empty volume, with the
# POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB the catalog URI names, then PostgreSQL in the
# foreground, reachable from the compose network with a password.
set -euo pipefail
: "${POSTGRES_USER:?}" "${POSTGRES_PASSWORD:?}" "${POSTGRES_DB:?}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb --auth-local=trust --auth-host=scram-sha-256 --username=postgres -D "$PGDATA" >/dev/null
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  postgres --single -D "$PGDATA" postgres >/dev/null <<SQL
CREATE ROLE "$POSTGRES_USER" LOGIN PASSWORD '$POSTGRES_PASSWORD';
CREATE DATABASE "$POSTGRES_DB" OWNER "$POSTGRES_USER";
SQL
fi
exec postgres -D "$PGDATA" -c listen_addresses='*'
