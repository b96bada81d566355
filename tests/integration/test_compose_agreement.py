"""docker-compose.yml, .env.example and the integration runner describe the same stack."""

from __future__ import annotations

import re
from pathlib import Path

import stackconf
from stack import ROOT
from stack import Stack

# Set by the local runner only, to replace what Docker provides (addresses, ports, files).
RUNNER_ONLY = {
    "GRANIAN_HOST",
    "GRANIAN_PORT",
    "REALTIME_HOST",
    "REALTIME_PORT",
    "WORKER_HEARTBEAT_FILE",
}


def test_every_compose_service_is_run_locally_or_provided_by_the_machine() -> None:
    compose = set(stackconf.load_compose()["services"])
    assert compose == {
        *stackconf.APP_SERVICES,
        *stackconf.DEV_SERVICES,
        *stackconf.BACKING_SERVICES,
        "nginx",
    }


def test_app_services_run_the_same_image_and_the_runner_uses_their_commands() -> None:
    data = stackconf.load_compose()["services"]
    images = {data[name]["image"] for name in (*stackconf.APP_SERVICES, *stackconf.DEV_SERVICES)}
    assert len(images) == 1  # one image, different commands
    services = stackconf.services(Stack().compose_env())
    commands = {name: services[name].command for name in stackconf.APP_SERVICES}
    assert commands["web"][0] == "granian" and "web.wsgi:app" in commands["web"]
    assert commands["realtime"] == ["python", "-m", "realtime"]
    assert commands["worker"] == ["python", "-m", "worker"]
    assert commands["migrate"][-2:] == ["db", "upgrade"]
    assert services["mail"].command == ["python", "-m", "mailcatcher"]


def test_every_variable_compose_reads_is_documented_in_env_example() -> None:
    text = stackconf.COMPOSE_FILE.read_text()
    documented = stackconf.env_example_names()
    referenced = stackconf.referenced_variables(text)
    assert referenced - documented == set()


def test_the_runner_provides_every_required_compose_variable() -> None:
    # Interpolating with the runner's environment raises if a ${VAR:?} is missing.
    services = stackconf.services(Stack().compose_env())
    for name in stackconf.APP_SERVICES:
        assert services[name].environment["SECRET_KEY"]


def test_variables_the_app_reads_are_set_by_compose_or_documented() -> None:
    sources = "\n".join(p.read_text() for p in (ROOT / "web").rglob("*.py"))
    reads = r"""\b(?:env|environ)(?:\.get)?\(\s*["']([A-Z][A-Z0-9_]+)["']"""
    read = set(re.findall(reads, sources))
    read |= set(re.findall(r"""_(?:bool|list|url)\(\s*env,\s*["']([A-Z][A-Z0-9_]+)["']""", sources))
    compose_env = set()
    for service in stackconf.load_compose()["services"].values():
        compose_env |= set((service.get("environment") or {}).keys())
    documented = stackconf.env_example_names() | set(
        re.findall(r"^# ([A-Z][A-Z0-9_]+)\b", stackconf.ENV_EXAMPLE.read_text(), re.M)
    )
    assert read, "found no environment reads in web/"
    assert read - compose_env - documented == set()


def test_runner_overrides_are_only_addresses_ports_and_files() -> None:
    stack = Stack()
    services = stackconf.services(stack.compose_env())
    web = services["web"]
    env = stack.service_env(web, GRANIAN_HOST="127.0.0.1", GRANIAN_PORT="1")
    changed = {k for k in web.environment if env.get(k) != web.environment[k]}
    # Only host names of backing services are rewritten, inside the URLs that name them, and
    # the mail catcher's address and port.
    mail = {"MAIL_SERVER", "MAIL_PORT"}
    assert changed <= {"DATABASE_URL", "REDIS_URL", "BROKER_URL", *mail, *RUNNER_ONLY}
    assert "postgres:5432" not in env["DATABASE_URL"]


def test_nginx_template_renders_with_exactly_the_variables_compose_sets() -> None:
    nginx_env = stackconf.load_compose()["services"]["nginx"]["environment"]
    template_vars = stackconf.referenced_variables(stackconf.NGINX_TEMPLATE.read_text())
    assert template_vars <= set(nginx_env)
    assert set(re.findall(r"\w+", nginx_env["NGINX_ENVSUBST_FILTER"])) >= template_vars


def test_dev_override_only_touches_app_services_and_nginx() -> None:
    override = stackconf.load_compose(Path(ROOT / "docker-compose.dev.yml"))
    assert set(override["services"]) <= {*stackconf.APP_SERVICES, "nginx"}
