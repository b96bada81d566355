#!/bin/sh
# Install uv into ~/.local/bin when it is missing (used by the Makefile and .ci/run).
# `pip install --user` first; where the system Python refuses that (PEP 668
# "externally-managed-environment": Debian, Ubuntu, Homebrew), uv goes into a private
# virtualenv and ~/.local/bin/uv links to it. Says in one line what to do if both fail.
set -eu
bin="$HOME/.local/bin"
if command -v uv >/dev/null 2>&1 || [ -x "$bin/uv" ]; then
  exit 0
fi
echo "uv not found; installing it to $bin"
if python3 -m pip install --user --quiet uv >/dev/null 2>&1 && [ -x "$bin/uv" ]; then
  exit 0
fi
venv="$HOME/.local/share/erlen/uv-venv"
if python3 -m venv "$venv" >/dev/null 2>&1 && "$venv/bin/python" -m pip install --quiet uv; then
  mkdir -p "$bin"
  ln -sf "$venv/bin/uv" "$bin/uv"
  exit 0
fi
echo "error: could not install uv (pip refused a user install and python3 -m venv failed);" \
  "install it as https://docs.astral.sh/uv/getting-started/installation/ says, then retry." >&2
exit 1
