#!/bin/sh
# nginx resolves the upstream host names (WEB_UPSTREAM, REALTIME_UPSTREAM, MAIL_UPSTREAM) once, when it loads
# its config: replicas added to a running stack with `docker compose up --scale`, or a
# container that came back with a new address, would get no traffic until a reload. This
# starts a watcher that reloads nginx when the addresses behind those names change.
# NGINX_UPSTREAM_WATCH_SECONDS sets its period (default 5; 0 turns it off).
set -eu

period="${NGINX_UPSTREAM_WATCH_SECONDS:-5}"
[ "$period" -gt 0 ] || exit 0
hosts=""
for upstream in ${WEB_UPSTREAM:-} ${REALTIME_UPSTREAM:-} ${MAIL_UPSTREAM:-}; do
  hosts="$hosts ${upstream%:*}"
done
[ -n "$hosts" ] || exit 0

addresses() {
  for host in $hosts; do
    printf '%s=' "$host"
    getent ahostsv4 "$host" | awk '{ print $1 }' | sort -u | tr '\n' ','
    printf ' '
  done
}

(
  last="$(addresses)"
  while sleep "$period"; do
    now="$(addresses)"
    [ "$now" != "$last" ] || continue
    echo "$0: upstream addresses changed ($now); reloading nginx" >&2
    # A failed reload (a name that does not resolve right now) keeps the running config.
    nginx -s reload || true
    last="$now"
  done
) &
