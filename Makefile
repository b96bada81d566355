# The only commands a person types. Every target that needs the environment builds it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
VENV := .venv
STAMP := $(VENV)/.synced
PY := $(VENV)/bin/python

.PHONY: help setup test lint fmt typecheck bench dev compat

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	@echo "uv not found; installing it to $(HOME)/.local/bin"
	python3 -m pip install --user --quiet uv

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $(STAMP)

setup: $(STAMP) ## Create the virtualenv with every dependency group

test: $(STAMP) ## Run the test suite
	$(PY) -m pytest

lint: $(STAMP) ## Lint and check formatting
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(STAMP) ## Format the code and fix what ruff can
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: $(STAMP) ## mypy --strict on erlen/
	$(VENV)/bin/mypy

bench: $(STAMP) ## Benchmark erlen against Flask, side by side (see docs/benchmarks.md)
	$(PY) bench/framework.py

dev: $(STAMP) ## Run the demo app on erlen's dev server (reloader + debugger)
	$(VENV)/bin/erlen --app examples/demo:create_app run --debug

compat: $(STAMP) ## Run Flask 3.1.3's own test suite against erlen (needs ../shared/compat)
	python3 ../shared/compat/run_suite.py flask
