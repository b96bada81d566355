"""The workloads run like compose's services: the same image, commands, health checks and
variables, with compose's security settings and the limits a shared cluster needs."""

from __future__ import annotations

import re
import typing as t
from urllib.parse import urlsplit

import pytest
import stackconf
from k8s_manifests import containers
from k8s_manifests import image_name
from k8s_manifests import image_tag
from k8s_manifests import main_container
from k8s_manifests import Manifest
from k8s_manifests import pod_spec
from k8s_manifests import Rendered
from k8s_manifests import ROOT

# compose service → the workload that runs it on Kubernetes.
APP_WORKLOADS = {"web": "Deployment", "realtime": "Deployment", "worker": "Deployment"}
ALL_APP_WORKLOADS = {**APP_WORKLOADS, "migrate": "Job"}
# Folded into DATABASE_URL: on Kubernetes the Postgres URL comes whole (external service).
FOLDED_INTO_DATABASE_URL = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}


def dockerfile_user() -> tuple[int, int]:
    match = re.search(r"^USER (\d+):(\d+)$", (ROOT / "Dockerfile").read_text(), re.M)
    assert match, "the Dockerfile has no numeric USER"
    return int(match[1]), int(match[2])


def compose_image(compose_data: t.Any, service: str) -> str:
    return str(compose_data["services"][service]["image"])


def app_workloads(rendered: Rendered, compose_data: t.Any) -> list[Manifest]:
    """Every workload running the app's image (web, realtime, worker, migrate)."""
    app_image = image_name(compose_image(compose_data, "web"))
    return [
        w
        for w in rendered.workloads()
        if any(image_name(c["image"]) == app_image for c in containers(w))
    ]


def test_every_pod_runs_non_root_with_the_runtimes_seccomp_profile(overlay: Rendered) -> None:
    for workload in overlay.workloads():
        spec = pod_spec(workload)
        name = workload["metadata"]["name"]
        security = spec.get("securityContext") or {}
        assert security.get("runAsNonRoot") is True, name
        assert isinstance(security.get("runAsUser"), int) and security["runAsUser"] > 0, name
        assert security.get("seccompProfile") == {"type": "RuntimeDefault"}, name
        assert spec.get("automountServiceAccountToken") is False, name


def test_every_container_is_read_only_without_capabilities_or_escalation(
    overlay: Rendered,
) -> None:
    for workload in overlay.workloads():
        for container in containers(workload):
            label = f"{workload['metadata']['name']}/{container['name']}"
            security = container.get("securityContext") or {}
            assert security.get("allowPrivilegeEscalation") is False, label
            assert security.get("readOnlyRootFilesystem") is True, label
            assert security.get("capabilities", {}).get("drop") == ["ALL"], label
            assert not security.get("privileged"), label


def test_app_pods_run_as_the_images_user_with_a_writable_tmp(
    overlay: Rendered, compose_data: t.Any
) -> None:
    # compose: read_only with a tmpfs on /tmp (the worker's heartbeat lives there).
    uid, gid = dockerfile_user()
    assert compose_data["services"]["web"]["tmpfs"] == ["/tmp"]
    workloads = app_workloads(overlay, compose_data)
    assert {w["metadata"]["name"] for w in workloads} == set(ALL_APP_WORKLOADS)
    for workload in workloads:
        spec = pod_spec(workload)
        assert (spec["securityContext"]["runAsUser"], spec["securityContext"]["runAsGroup"]) == (
            uid,
            gid,
        )
        empty_dirs = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in containers(workload):
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts") or []}
            assert mounts.get("/tmp") in empty_dirs, container["name"]


def test_every_container_has_cpu_and_memory_requests_and_limits(overlay: Rendered) -> None:
    for workload in overlay.workloads():
        for container in containers(workload):
            resources = container.get("resources") or {}
            for bound in ("requests", "limits"):
                assert set(resources.get(bound) or {}) >= {"cpu", "memory"}, (
                    f"{workload['metadata']['name']}/{container['name']} {bound}"
                )


def test_every_long_running_container_has_liveness_and_readiness_probes(
    overlay: Rendered,
) -> None:
    for workload in overlay.workloads():
        if workload["kind"] == "Job":
            continue
        for container in containers(workload, init=False):
            label = f"{workload['metadata']['name']}/{container['name']}"
            assert "livenessProbe" in container, label
            assert "readinessProbe" in container, label
            ports = {p["name"] for p in container.get("ports") or []} | {
                p["containerPort"] for p in container.get("ports") or []
            }
            for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                probe = container.get(kind) or {}
                if "httpGet" in probe:
                    assert probe["httpGet"]["port"] in ports, f"{label} {kind}"


def http_probe_url(service: stackconf.Service) -> tuple[str, int]:
    """The path and port of compose's ``python -m web.health URL`` health check."""
    assert service.healthcheck is not None
    assert service.healthcheck[1:4] == ["python", "-m", "web.health"], service.healthcheck
    url = urlsplit(service.healthcheck[4])
    assert url.port is not None
    return url.path, url.port


def probe_port(container: Manifest, probe: Manifest) -> int:
    port = probe["httpGet"]["port"]
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return int(number)


@pytest.mark.parametrize("service", ["web", "realtime"])
def test_readiness_probes_are_composes_health_checks(
    overlay: Rendered, compose_services: dict[str, stackconf.Service], service: str
) -> None:
    path, port = http_probe_url(compose_services[service])
    container = main_container(overlay.get("Deployment", service))
    probe = container["readinessProbe"]
    assert (probe["httpGet"]["path"], probe_port(container, probe)) == (path, port)
    # ... on the port the service listens on (compose sets it in the environment).
    env = overlay.container_env(container)
    assert str(port) in {env.get("GRANIAN_PORT"), env.get("REALTIME_PORT")}


def test_web_is_alive_on_healthz_and_ready_on_readyz(overlay: Rendered) -> None:
    container = main_container(overlay.get("Deployment", "web"))
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_the_workers_probes_run_composes_check_command(
    overlay: Rendered, compose_services: dict[str, stackconf.Service]
) -> None:
    check = compose_services["worker"].healthcheck
    assert check is not None and check[0] == "CMD"
    container = main_container(overlay.get("Deployment", "worker"))
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[kind]["exec"]["command"] == check[1:], kind


def test_web_probes_send_a_host_that_web_trusts(overlay: Rendered) -> None:
    # web answers 400 to a Host outside TRUSTED_HOSTS; the kubelet's default is the pod IP.
    container = main_container(overlay.get("Deployment", "web"))
    trusted = [h for h in (overlay.container_env(container)["TRUSTED_HOSTS"] or "").split(",") if h]
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        headers = {h["name"]: h["value"] for h in container[kind]["httpGet"]["httpHeaders"]}
        assert not trusted or headers["Host"] in trusted, kind


@pytest.mark.parametrize("service", sorted(ALL_APP_WORKLOADS))
def test_each_service_runs_composes_command(
    overlay: Rendered, compose_services: dict[str, stackconf.Service], service: str
) -> None:
    container = main_container(overlay.get(ALL_APP_WORKLOADS[service], service))
    assert container["command"] == compose_services[service].command
    assert "args" not in container


def test_app_containers_run_the_image_compose_builds(
    overlay: Rendered, compose_data: t.Any
) -> None:
    wanted = image_name(compose_image(compose_data, "web"))
    for service, kind in ALL_APP_WORKLOADS.items():
        assert image_name(compose_image(compose_data, service)) == wanted
        for container in containers(overlay.get(kind, service)):
            assert image_name(container["image"]) == wanted, container["name"]


def test_production_pins_one_explicit_image_tag(production: Rendered, compose_data: t.Any) -> None:
    tags = set()
    for workload in app_workloads(production, compose_data):
        tags |= {image_tag(c["image"]) for c in containers(workload)}
    assert len(tags) == 1
    (tag,) = tags
    assert tag not in (None, "latest")


@pytest.mark.parametrize("service", ["postgres", "redis"])
def test_dev_postgres_and_redis_run_composes_images(
    dev: Rendered, compose_data: t.Any, service: str
) -> None:
    spec = compose_data["services"][service]
    container = main_container(dev.get("StatefulSet", service))
    assert container["image"] == spec["image"]
    if "command" in spec:
        assert container["command"] == spec["command"]


@pytest.mark.parametrize("service", sorted(ALL_APP_WORKLOADS))
def test_each_container_gets_every_variable_compose_sets(
    overlay: Rendered, compose_services: dict[str, stackconf.Service], service: str
) -> None:
    compose_env = compose_services[service].environment
    container = main_container(overlay.get(ALL_APP_WORKLOADS[service], service))
    env = overlay.container_env(container)
    assert set(compose_env) - set(env) == set()
    # Fixed values (no ${...} in compose) are the same: addresses and ports; the Redis URLs
    # too where Redis runs in the cluster under compose's service name (dev).
    raw = stackconf.load_compose()["services"][service].get("environment") or {}
    in_cluster = {w["metadata"]["name"] for w in overlay.workloads()}
    for name, value in raw.items():
        names_backing = [b for b in stackconf.BACKING_SERVICES if f"//{b}:" in str(value)]
        if "$" in str(value) or not set(names_backing) <= in_cluster:
            continue
        assert env[name] == str(value), name


def test_every_env_example_setting_the_services_read_is_provided(
    overlay: Rendered, compose_data: t.Any
) -> None:
    # The .env.example names that compose passes into the app's containers.
    text = "\n".join(
        str(value)
        for service in ALL_APP_WORKLOADS
        for value in (compose_data["services"][service].get("environment") or {}).values()
    )
    read = stackconf.referenced_variables(text) & stackconf.env_example_names()
    assert {"SECRET_KEY", "WEB_WORKERS", "WORKER_THREADS"} <= read
    provided = set()
    for service, kind in ALL_APP_WORKLOADS.items():
        provided |= set(overlay.container_env(main_container(overlay.get(kind, service))))
    assert read - provided <= FOLDED_INTO_DATABASE_URL
    assert "DATABASE_URL" in provided


def test_config_and_secrets_only_hold_variables_the_stack_knows(
    overlay: Rendered, compose_data: t.Any
) -> None:
    known = stackconf.env_example_names()
    for service in compose_data["services"].values():
        known |= set(service.get("environment") or {})
    for workload in overlay.workloads():
        for container in containers(workload):
            for source in container.get("envFrom") or []:
                kind, ref = (
                    ("ConfigMap", source["configMapRef"])
                    if "configMapRef" in source
                    else ("Secret", source["secretRef"])
                )
                assert set(overlay.config_data(kind, ref["name"])) <= known, ref["name"]


def test_secrets_hold_the_credentials_and_the_config_map_none(overlay: Rendered) -> None:
    (secret,) = [s for s in overlay.of_kind("Secret") if s["metadata"]["name"].startswith("erlen-")]
    secrets = overlay.config_data("Secret", secret["metadata"]["name"])
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "BROKER_URL"} <= set(secrets)
    for config_map in overlay.of_kind("ConfigMap"):
        assert not {"SECRET_KEY", "POSTGRES_PASSWORD", "DATABASE_URL"} & set(
            config_map.get("data") or {}
        ), config_map["metadata"]["name"]


def test_dev_database_url_is_composes_with_the_dev_postgres_settings(
    dev: Rendered, compose_data: t.Any
) -> None:
    env = dev.container_env(main_container(dev.get("Deployment", "web")))
    postgres_env = dev.container_env(main_container(dev.get("StatefulSet", "postgres")))
    raw = compose_data["services"]["web"]["environment"]["DATABASE_URL"]
    as_compose = stackconf.interpolate(raw, t.cast(dict[str, str], postgres_env))
    assert env["DATABASE_URL"] == as_compose
