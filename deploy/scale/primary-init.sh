#!/bin/sh
# Run once by the postgres image when it initialises the primary's data (docker-compose.scale.yml).
set -eu
# The replica's base backup and streaming log in as the catalog role (a superuser here, so it may replicate).
echo "host replication catalog all scram-sha-256" >> "$PGDATA/pg_hba.conf"
# Behind PgBouncer in transaction mode the service sends no statement_timeout at connect: the role carries it
# (DB_STATEMENT_TIMEOUT_MS's default). Migrations lift it with SET LOCAL inside their transaction.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -c "ALTER ROLE catalog SET statement_timeout = '10s'"
