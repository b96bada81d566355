"""Read the stack's definition from docker-compose.yml and render the nginx config.

Shared by ``scripts/check_stack_config.py`` (static checks in ``make lint``) and the
integration test runner (``tests/integration/stack.py``), so local runs use exactly the
commands, environment and nginx config that compose does.
"""

from __future__ import annotations

import re
import string
import typing as t
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
NGINX_DIR = ROOT / "nginx"
NGINX_TEMPLATE = NGINX_DIR / "templates" / "erlen.conf.template"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}
_INTERPOLATION = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)

# The services built from this repository's image, run with their own commands.
APP_SERVICES = ("migrate", "web", "realtime", "worker")
# Development tools compose runs from the same image next to the app; deploy/k8s has none.
DEV_SERVICES = ("mail",)
# Services the integration runner gets from the machine instead (real Postgres and Redis).
BACKING_SERVICES = ("postgres", "redis")


class InterpolationError(ValueError):
    """A ``${NAME:?message}`` variable is unset, as compose would refuse it."""


def interpolate(value: str, env: t.Mapping[str, str]) -> str:
    """Expand compose-style ``${...}`` references in ``value`` from ``env``."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        current = env.get(name)
        if op in (":-", ":?"):
            missing = not current
        else:
            missing = current is None
        if not missing:
            return current  # type: ignore[return-value]
        if op in (":-", "-"):
            return arg or ""
        if op in (":?", "?"):
            raise InterpolationError(arg or f"{name} is not set.")
        return ""

    # "$$" is compose's escape for a literal "$".
    parts = value.split("$$")
    return "$".join(_INTERPOLATION.sub(replace, part) for part in parts)


def referenced_variables(text: str) -> set[str]:
    """Every variable name a compose file or template refers to with ``${...}``."""
    return {m["name"] for m in _INTERPOLATION.finditer(text.replace("$$", ""))}


@dataclass
class Service:
    """One compose service as the integration runner needs it."""

    name: str
    command: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    depends_on: dict[str, str] = field(default_factory=dict)
    healthcheck: list[str] | None = None


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, t.Any]:
    """The compose file as data, with YAML anchors and merge keys resolved."""
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or "services" not in data:
        raise ValueError(f"{path} has no 'services'.")
    return data


def services(env: t.Mapping[str, str], path: Path = COMPOSE_FILE) -> dict[str, Service]:
    """The services of the compose file, interpolated with ``env`` as compose would."""
    data = load_compose(path)
    out: dict[str, Service] = {}
    for name, spec in data["services"].items():
        command = spec.get("command") or []
        if isinstance(command, str):
            command = command.split()
        environment = {
            key: interpolate(str(value), env)
            for key, value in (spec.get("environment") or {}).items()
        }
        depends = spec.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {dep: "service_started" for dep in depends}
        else:
            depends = {
                dep: cond.get("condition", "service_started") for dep, cond in depends.items()
            }
        health = (spec.get("healthcheck") or {}).get("test")
        out[name] = Service(
            name=name,
            command=[interpolate(str(part), env) for part in command],
            environment=environment,
            depends_on=depends,
            healthcheck=[str(p) for p in health] if isinstance(health, list) else None,
        )
    return out


def env_example_names(path: Path = ENV_EXAMPLE) -> set[str]:
    """The variable names .env.example sets (``NAME=value`` lines)."""
    names = set()
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            names.add(line.split("=", 1)[0].strip())
    return names


def render_nginx(
    *,
    port: int,
    web_upstream: str | list[str],
    realtime_upstream: str | list[str],
    mail_upstream: str,
    static_root: str,
    access_log: str,
    workdir: Path,
    mime_types: str = "/etc/nginx/mime.types",
) -> Path:
    """Render the repo's nginx config into ``workdir`` for a local nginx; return its path.

    The site template is substituted exactly as the nginx image's envsubst step does
    (only our variables); the main config is the repo's, with its include and temp paths
    pointed into ``workdir`` so nginx runs without touching /etc.
    """
    webs = [web_upstream] if isinstance(web_upstream, str) else web_upstream
    realtimes = [realtime_upstream] if isinstance(realtime_upstream, str) else realtime_upstream
    values = {
        "NGINX_PORT": str(port),
        "WEB_UPSTREAM": webs[0],
        "REALTIME_UPSTREAM": realtimes[0],
        "MAIL_UPSTREAM": mail_upstream,
        "STATIC_ROOT": static_root,
        "NGINX_ACCESS_LOG": access_log,
    }
    site = _envsubst(NGINX_TEMPLATE.read_text(), values)
    # In compose an upstream name resolves to every replica; locally each replica has its
    # own port, so repeat the template's `server` line once per extra address.
    for first, rest in ((webs[0], webs[1:]), (realtimes[0], realtimes[1:])):
        site = _repeat_server_line(site, first, rest)
    confd = workdir / "conf.d"
    confd.mkdir(parents=True, exist_ok=True)
    (confd / "erlen.conf").write_text(site)

    main = (NGINX_DIR / "nginx.conf").read_text()
    # Temp paths first: the replacements below may themselves live under /tmp.
    main = main.replace("/tmp/", f"{workdir}/")
    main = main.replace("/etc/nginx/conf.d/", f"{confd}/")
    main = main.replace("/etc/nginx/mime.types", mime_types)
    main = main.replace("error_log /dev/stderr", f"error_log {workdir}/error.log")
    if f"include {confd}/*.conf;" not in main:
        raise ValueError("nginx/nginx.conf must include /etc/nginx/conf.d/*.conf.")
    conf = workdir / "nginx.conf"
    conf.write_text(main)
    return conf


def _repeat_server_line(site: str, first: str, others: list[str]) -> str:
    lines = site.splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith(f"server {first} "):
            extra = [line.replace(f"server {first} ", f"server {other} ", 1) for other in others]
            lines[index + 1 : index + 1] = extra
            break
    else:
        if others:
            raise ValueError(f"No `server {first}` line in the nginx template.")
    return "\n".join(lines) + "\n"


def _envsubst(text: str, values: t.Mapping[str, str]) -> str:
    """Substitute ``${NAME}`` for the given names only, leaving nginx's ``$vars`` alone."""
    missing = [n for n in referenced_variables(text) if n not in values]
    if missing:
        raise KeyError(f"The nginx template needs {sorted(missing)}.")
    return string.Template(text).safe_substitute(values)
