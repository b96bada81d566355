#!/bin/sh
# Starts redis-server as the official image does: arguments that start with "-" are options
# for redis-server; protected mode is off; root drops to the redis user after owning /data.
set -eu
case "${1:-}" in
  -*) set -- redis-server "$@" ;;
esac
if [ "${1:-}" = redis-server ]; then
  shift
  # A config file, if given, must stay the first argument.
  case "${1:-}" in
    "" | -*) set -- redis-server --protected-mode no "$@" ;;
    *) config="$1"; shift; set -- redis-server "$config" --protected-mode no "$@" ;;
  esac
  if [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
