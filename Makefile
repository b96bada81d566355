# The only commands a person types. Every target that needs the environment builds it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
VENV := .venv
STAMP := $(VENV)/.synced
PY := $(VENV)/bin/python

# Compose v2, as `docker compose` or a standalone docker-compose v2 (scripts/docker-engine.sh).
COMPOSE = $(shell scripts/docker-engine.sh compose-command 2>/dev/null || echo docker compose)
COMPOSE_DEV = $(COMPOSE) -f docker-compose.yml -f docker-compose.dev.yml
# The CA bundle the image build trusts (docker-compose.yml's ca_certificates build secret):
# the one $SSL_CERT_FILE names, unless BUILD_CA_CERTIFICATES is set in the environment.
ifneq ($(SSL_CERT_FILE),)
export BUILD_CA_CERTIFICATES ?= $(SSL_CERT_FILE)
endif

.PHONY: help setup test test-fast test-framework test-framework-slow-paths test-starter test-reliability lint fmt typecheck bench dev compat
.PHONY: up up-dev down logs ps migrate shell check-docker images test-containers
.PHONY: k8s-check
.PHONY: compat-ext
.PHONY: bench-realtime
.PHONY: bench-jobs

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	@scripts/install-uv.sh

# --compile-bytecode: dependencies are compiled once here, so a new process (a worker the
# chaos bench restarts, a test's subprocess) never compiles them, even under
# PYTHONDONTWRITEBYTECODE: without it, importing the worker's dependencies took 2.7 s.
$(STAMP): pyproject.toml erlen/pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-packages --all-groups --compile-bytecode
	@touch $(STAMP)

setup: $(STAMP) ## Create the virtualenv: the starter, the framework, every dependency group

# pytest for the test targets (extra arguments: make test-fast PYTEST_ARGS=-x). Bytecode is
# written even where PYTHONDONTWRITEBYTECODE is set: without it every run compiles every
# module and re-rewrites every test module's asserts, a third of the fast tier's time.
PYTEST = PYTHONDONTWRITEBYTECODE= $(abspath $(PY)) -m pytest $(PYTEST_ARGS)
# The benchmarks' Python: the project's own modules' bytecode is written too, so the worker
# and server processes they start don't compile erlen on every start.
BENCH = PYTHONDONTWRITEBYTECODE= $(abspath $(PY))
# Prefix for a recipe line: run it, then say how long it took (bash's `time` keyword keeps
# the exit status).
TIMED = TIMEFORMAT='$@ took %1R s'; time
# The tests that need no service: erlen.pytest_tiers marks the others "services".
NO_SERVICES := -m "not services"

test: test-framework test-framework-slow-paths test-starter test-reliability ## Run every test: the framework's (also with its fast paths off), then the starter's tiers

test-fast: $(STAMP) ## Every test that needs no service (no Postgres, Redis, nginx, browser), both projects
	@$(TIMED) { (cd erlen && $(PYTEST) $(NO_SERVICES)) && $(PYTEST) $(NO_SERVICES); }

test-framework: $(STAMP) ## The framework's own tests (erlen/tests), every tier
	@$(TIMED) (cd erlen && $(PYTEST))

test-framework-slow-paths: $(STAMP) ## The framework's tests with every fast path forced off (see erlen/src/erlen/_fastpaths.py)
	@$(TIMED) (cd erlen && ERLEN_NO_FAST_PATHS=1 $(PYTEST))

test-starter: $(STAMP) ## The starter's tiers (tests/): fast, dev, integration, e2e
	@$(TIMED) $(PYTEST)

test-reliability: $(STAMP) ## The stack attacked through nginx: one test per row of the reliability table, with figures
	@$(TIMED) $(PYTEST) tests/reliability

lint: $(STAMP) k8s-check ## Lint, check formatting, validate compose, Dockerfile, nginx and deploy/k8s, audit the lock file
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) scripts/check_stack_config.py
	$(PY) scripts/audit_dependencies.py

k8s-check: $(STAMP) ## Render deploy/k8s's overlays, validate them offline, check them against compose
	$(PY) -m pytest tests/k8s -q

fmt: $(STAMP) ## Format the code and fix what ruff can
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: $(STAMP) ## mypy --strict on the framework (erlen/src, erlen/tests) and the starter (web, worker, realtime, mailcatcher, tests, scripts)
	cd erlen && ../$(VENV)/bin/mypy
	$(VENV)/bin/mypy

bench: $(STAMP) ## Benchmark erlen against Flask, side by side (see erlen/docs/benchmarks.md)
	$(BENCH) erlen/bench/framework.py

bench-realtime: $(STAMP) ## Realtime fan-out: erlen vs bare websockets+Redis, side by side (BENCH_ARGS="--quick")
	$(BENCH) erlen/bench/realtime.py $(BENCH_ARGS)

bench-jobs: $(STAMP) ## Jobs: drain rates beside raw Dramatiq, then SIGKILL chaos (needs Redis, Postgres)
	$(BENCH) erlen/bench/jobs.py
	$(BENCH) erlen/bench/jobs.py --chaos

dev: $(STAMP) ## Run the whole starter in one process (no docker): http://127.0.0.1:5000
	$(PY) -m web.dev $(DEV_ARGS)

compat: $(STAMP) ## Run Flask 3.1.3's own test suite against erlen (erlen/docs/compatibility.md)
	$(PY) erlen/compat/run_flask_suite.py $(COMPAT_ARGS)

compat-ext: $(STAMP) ## Run Flask-SQLAlchemy's and Flask-Login's own suites against erlen.ext
	$(PY) erlen/compat/run_flask_suite.py --suite ext $(COMPAT_ARGS)

.env: .env.example
	@python3 scripts/make_env.py

# One line saying what is missing (docker, Compose v2, a running engine) and how to get it.
check-docker:
	@scripts/docker-engine.sh check

up: check-docker .env ## Start the whole stack with docker compose (nginx on http://localhost:8080)
	$(COMPOSE) up -d --build --wait

up-dev: check-docker .env ## Like up, with the source mounted and auto-reload
	$(COMPOSE_DEV) up -d --build --wait

down: check-docker ## Stop the stack (volumes are kept)
	$(COMPOSE) down --remove-orphans

logs: check-docker ## Follow the stack's logs
	$(COMPOSE) logs -f --tail=100

ps: check-docker ## Show the stack's services and their health
	$(COMPOSE) ps

migrate: check-docker .env ## Run database migrations in the stack
	$(COMPOSE) run --rm migrate

shell: check-docker .env ## An erlen shell inside the web container
	$(COMPOSE) exec web erlen --app web.wsgi shell

images: check-docker $(STAMP) ## Base images for the build: present, pulled, or built locally (air-gapped)
	$(PY) scripts/offline-images/ensure.py

test-containers: $(STAMP) ## The containers tier: engine, images, make up, tests through :8080, make down
	$(PY) -m pytest tests/containers --durations=0
