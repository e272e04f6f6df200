#!/bin/sh
# Starts PostgreSQL 15 in the foreground. On first start (no PG_VERSION in $PGDATA) it initialises the data
# directory the way the official image does: superuser $POSTGRES_USER with the password from
# $POSTGRES_PASSWORD_FILE (scram-sha-256 over TCP from anywhere, trust on the local socket), and the
# database $POSTGRES_DB. Extra arguments go to postgres (e.g. -c shared_buffers=256MB).
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD_FILE:-}" ] || [ ! -s "$POSTGRES_PASSWORD_FILE" ]; then
    echo "postgres-entrypoint: POSTGRES_PASSWORD_FILE must name a non-empty file" >&2
    exit 1
  fi
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$POSTGRES_PASSWORD_FILE" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\";" | postgres --single -D "$PGDATA" -c jit=off -j postgres >/dev/null
  fi
  echo "postgres-entrypoint: initialised $PGDATA (database $POSTGRES_DB, user $POSTGRES_USER)" >&2
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c jit=off -c unix_socket_directories=/var/run/postgresql "$@"
