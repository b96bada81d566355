#!/usr/bin/env bash
# The official postgres image's start-up contract: on an empty $PGDATA, initdb with
# POSTGRES_USER (default postgres) and POSTGRES_PASSWORD, create POSTGRES_DB (default: the
# user's name), run /docker-entrypoint-initdb.d/*.sh and *.sql on a server that listens on
# the socket only, then start the server for real, listening on every address with password
# authentication for remote clients. Root drops to the postgres user first.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  chmod 3777 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

initialise() {
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
    echo "error: the database is uninitialised and POSTGRES_PASSWORD is not set." >&2
    echo "       Set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust, not recommended)." >&2
    exit 1
  fi
  local user="${POSTGRES_USER:-postgres}"
  local db="${POSTGRES_DB:-$user}"
  local auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of words, as upstream.
  initdb --username="$user" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
    ${POSTGRES_INITDB_ARGS:-}
  {
    echo "listen_addresses = '*'"
    echo "unix_socket_directories = '/var/run/postgresql'"
  } >>"$PGDATA/postgresql.conf"
  echo "host all all all $auth" >>"$PGDATA/pg_hba.conf"

  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start
  local psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$user" --dbname postgres)
  if [ "$db" != postgres ]; then
    "${psql[@]}" -v db="$db" <<<'CREATE DATABASE :"db";'
  fi
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "$0: running $f"; . "$f" ;;
      *.sql) echo "$0: running $f"; "${psql[@]}" --dbname "$db" -f "$f" ;;
      *) ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo "PostgreSQL init process complete; ready for start up."
}

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  shopt -s nullglob
  initialise
fi

exec "$@"
