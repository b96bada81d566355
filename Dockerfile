# One image for web, realtime and worker (different commands), plus an nginx target that
# carries the static files. Build: docker compose build (see docker-compose.yml).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.9.5 AS uv

# -- build: resolve and install dependencies with uv, then the project itself ----------------
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Third-party dependencies first, so source edits don't invalidate this layer. The starter is
# an application, not a package: only the framework (a workspace member) is installed, as a
# wheel; the starter's own code is copied into the runtime image below.
# The ca_certificates build secret (compose passes the file $BUILD_CA_CERTIFICATES names) lets
# uv trust a TLS-intercepting proxy's CA; it is mounted for the downloads only, never stored.
COPY pyproject.toml uv.lock README.md ./
COPY erlen/pyproject.toml erlen/README.md erlen/
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca_certificates,required=false \
    if [ -s /run/secrets/ca_certificates ]; then export SSL_CERT_FILE=/run/secrets/ca_certificates; fi \
    && uv sync --frozen --no-install-workspace --no-default-groups
COPY erlen/src erlen/src
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca_certificates,required=false \
    if [ -s /run/secrets/ca_certificates ]; then export SSL_CERT_FILE=/run/secrets/ca_certificates; fi \
    && uv sync --frozen --no-editable --no-default-groups

# -- runtime: the virtualenv only; no compilers, no uv, a non-root user ----------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app
COPY --from=build --chown=app:app /app/.venv /app/.venv
WORKDIR /app
COPY --chown=app:app web ./web
COPY --chown=app:app worker ./worker
COPY --chown=app:app realtime ./realtime
COPY --chown=app:app mailcatcher ./mailcatcher
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
EXPOSE 8000 8001
# web by default; compose gives realtime, worker and migrate their own commands.
CMD ["granian", "--interface", "wsgi", "web.wsgi:app"]

# -- nginx: the repo's config and the web app's static files ---------------------------------
FROM nginx:1.27-bookworm AS nginx
COPY nginx/nginx.conf /etc/nginx/nginx.conf
COPY nginx/templates/ /etc/nginx/templates/
COPY nginx/docker-entrypoint.d/ /docker-entrypoint.d/
COPY web/static/ /srv/static/
EXPOSE 8080
