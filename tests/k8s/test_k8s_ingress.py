"""The Ingress does what nginx/ does in compose: / to web, /ws upgraded to realtime, with
nginx's timeouts and body limit; and the public host is the one the app trusts."""

from __future__ import annotations

import re
import typing as t

import pytest
import stackconf
from k8s_manifests import main_container
from k8s_manifests import Manifest
from k8s_manifests import nginx_location
from k8s_manifests import nginx_server_directive
from k8s_manifests import Rendered
from k8s_manifests import seconds

PREFIX = "nginx.ingress.kubernetes.io/"
TEMPLATE = stackconf.NGINX_TEMPLATE.read_text()
# Ingress → (nginx location, the compose upstream variable naming its service).
ROUTES = {"web": ("/", "WEB_UPSTREAM"), "realtime": ("/ws", "REALTIME_UPSTREAM")}


def routes(ingress: Manifest) -> list[tuple[str, str, str, t.Any]]:
    """(host, path, service, port) for each rule of an Ingress."""
    found = []
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            port = backend["port"].get("name", backend["port"].get("number"))
            found.append((rule.get("host", ""), path["path"], backend["name"], port))
    return found


def service_port(rendered: Rendered, service: str, port: t.Any) -> int:
    for item in rendered.get("Service", service)["spec"]["ports"]:
        if port in (item.get("name"), item["port"]):
            return int(item["port"])
    raise AssertionError(f"Service {service} has no port {port!r}")


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_each_nginx_location_is_routed_to_the_same_service_and_port(
    overlay: Rendered, compose_data: t.Any, name: str
) -> None:
    location, upstream = ROUTES[name]
    host, _, port = compose_data["services"]["nginx"]["environment"][upstream].partition(":")
    (route,) = routes(overlay.get("Ingress", name))
    assert route[1:3] == (location, host)
    assert service_port(overlay, route[2], route[3]) == int(port)


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_each_ingress_has_its_nginx_locations_timeouts(overlay: Rendered, name: str) -> None:
    location, _ = ROUTES[name]
    nginx = nginx_location(TEMPLATE, location)
    annotations = overlay.get("Ingress", name)["metadata"]["annotations"]
    for directive in ("proxy_connect_timeout", "proxy_read_timeout", "proxy_send_timeout"):
        key = PREFIX + directive.replace("_", "-")
        assert int(annotations[key]) == seconds(nginx[directive]), key
    assert annotations[PREFIX + "proxy-http-version"] == nginx["proxy_http_version"]
    if nginx.get("proxy_buffering") == "off":
        assert annotations[PREFIX + "proxy-buffering"] == "off"


def test_the_websocket_location_upgrades_and_outlives_the_ping_interval(
    overlay: Rendered,
) -> None:
    nginx = nginx_location(TEMPLATE, "/ws")
    # What nginx/ does explicitly, ingress-nginx does on every location: pass Upgrade on.
    assert nginx["proxy_set_header"].startswith("Upgrade $http_upgrade")
    annotations = overlay.get("Ingress", "realtime")["metadata"]["annotations"]
    assert annotations[PREFIX + "proxy-http-version"] == "1.1"
    # The realtime server pings every 20 s; a shorter read timeout would cut idle sockets.
    assert int(annotations[PREFIX + "proxy-read-timeout"]) > 20
    assert int(annotations[PREFIX + "proxy-send-timeout"]) > 20


def test_every_ingress_limits_the_body_like_nginx_and_uses_no_snippets(
    overlay: Rendered,
) -> None:
    limit = nginx_server_directive(TEMPLATE, "client_max_body_size")
    for ingress in overlay.of_kind("Ingress"):
        annotations = ingress["metadata"]["annotations"]
        assert annotations[PREFIX + "proxy-body-size"] == limit
        # Snippet annotations are off by default in ingress-nginx (they can inject config).
        assert not [k for k in annotations if "snippet" in k]
        assert ingress["spec"]["ingressClassName"] == "nginx"


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_each_ingress_caps_connections_per_client_like_nginx(overlay: Rendered, name: str) -> None:
    location, _ = ROUTES[name]
    # A location's own limit_conn replaces the server's.
    limit = nginx_location(TEMPLATE, location).get("limit_conn") or re.search(
        r"^    limit_conn (.+);$", TEMPLATE, re.M
    ).group(1)  # type: ignore[union-attr]
    annotations = overlay.get("Ingress", name)["metadata"]["annotations"]
    assert annotations[PREFIX + "limit-connections"] == limit.split()[1]


def app_env(rendered: Rendered) -> dict[str, str | None]:
    return rendered.container_env(main_container(rendered.get("Deployment", "web")))


def test_the_public_host_is_trusted_and_its_origin_allowed(overlay: Rendered) -> None:
    env = app_env(overlay)
    trusted = (env["TRUSTED_HOSTS"] or "").split(",")
    origins = (env["ALLOWED_ORIGINS"] or "").split(",")
    tls = {
        host
        for ingress in overlay.of_kind("Ingress")
        for entry in ingress["spec"].get("tls", [])
        for host in entry["hosts"]
    }
    for ingress in overlay.of_kind("Ingress"):
        for host, *_ in routes(ingress):
            assert host, "an overlay names the public host"
            assert host in trusted
            scheme = "https" if host in tls else "http"
            assert f"{scheme}://{host}" in origins
    # realtime checks Origin with the same setting.
    assert (
        app_env(overlay)["ALLOWED_ORIGINS"]
        == overlay.container_env(main_container(overlay.get("Deployment", "realtime")))[
            "ALLOWED_ORIGINS"
        ]
    )


def test_production_terminates_tls_for_its_host_and_sends_secure_cookies(
    production: Rendered,
) -> None:
    for ingress in production.of_kind("Ingress"):
        hosts = {host for host, *_ in routes(ingress)}
        tls_hosts = {h for entry in ingress["spec"]["tls"] for h in entry["hosts"]}
        assert hosts <= tls_hosts
        assert all(entry.get("secretName") for entry in ingress["spec"]["tls"])
    assert app_env(production)["SESSION_COOKIE_SECURE"] == "true"
