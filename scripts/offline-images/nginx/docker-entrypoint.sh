#!/bin/sh
# Runs the start-up scripts in /docker-entrypoint.d/ (in name order) when the command is
# nginx, then the command itself.
set -eu
case "${1:-}" in
  nginx | nginx-debug)
    for script in /docker-entrypoint.d/*.sh; do
      [ -x "$script" ] || continue
      echo "$0: running $script"
      "$script"
    done
    ;;
esac
exec "$@"
