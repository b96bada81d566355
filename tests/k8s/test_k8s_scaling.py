"""Replicas, autoscaling, disruption budgets and graceful termination."""

from __future__ import annotations

import pytest
import stackconf
from k8s_manifests import labels_match
from k8s_manifests import main_container
from k8s_manifests import nginx_location
from k8s_manifests import pod_spec
from k8s_manifests import Rendered
from k8s_manifests import seconds

AUTOSCALED = ("web", "realtime")
# erlen's worker: `--shutdown-timeout` defaults to 30 s (python -m worker --help).
WORKER_SHUTDOWN_TIMEOUT = 30


@pytest.mark.parametrize("name", AUTOSCALED)
def test_web_and_realtime_scale_on_cpu_from_at_least_two_in_production(
    overlay: Rendered, name: str
) -> None:
    hpa = overlay.get("HorizontalPodAutoscaler", name)
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", name)
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"] >= 1
    if overlay.name == "production":
        assert hpa["spec"]["minReplicas"] >= 2
    # The autoscaler owns the count: a `replicas` in the Deployment would reset it on apply.
    assert "replicas" not in overlay.get("Deployment", name)["spec"]


def test_every_deployment_has_a_disruption_budget_that_selects_its_pods(
    overlay: Rendered,
) -> None:
    budgets = overlay.of_kind("PodDisruptionBudget")
    for deployment in overlay.of_kind("Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matching = [b for b in budgets if labels_match(b["spec"]["selector"], labels)]
        assert len(matching) == 1, deployment["metadata"]["name"]
        # maxUnavailable holds for any replica count; minAvailable could block drains.
        assert matching[0]["spec"].get("maxUnavailable") == 1


def test_production_runs_more_than_one_worker(production: Rendered) -> None:
    assert production.get("Deployment", "worker")["spec"]["replicas"] >= 2


def test_rollouts_never_drop_below_the_current_capacity(overlay: Rendered) -> None:
    for deployment in overlay.of_kind("Deployment"):
        rolling = deployment["spec"]["strategy"]["rollingUpdate"]
        assert rolling["maxUnavailable"] == 0, deployment["metadata"]["name"]


def test_every_service_selects_pods_and_names_a_port_they_expose(overlay: Rendered) -> None:
    for service in overlay.of_kind("Service"):
        selector = {"matchLabels": service["spec"]["selector"]}
        pods = [
            w
            for w in overlay.workloads()
            if labels_match(selector, w["spec"]["template"]["metadata"]["labels"])
        ]
        assert len(pods) == 1, service["metadata"]["name"]
        exposed = {p["name"] for p in main_container(pods[0])["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in exposed, service["metadata"]["name"]


def test_web_stops_taking_requests_before_it_stops_and_finishes_them(
    overlay: Rendered,
) -> None:
    web = overlay.get("Deployment", "web")
    pre_stop = main_container(web)["lifecycle"]["preStop"]["sleep"]["seconds"]
    request_timeout = seconds(
        nginx_location(stackconf.NGINX_TEMPLATE.read_text(), "/")["proxy_read_timeout"]
    )
    assert pre_stop >= 5
    assert pod_spec(web)["terminationGracePeriodSeconds"] > pre_stop + request_timeout


def test_realtime_leaves_the_ingress_before_it_closes_its_sockets(overlay: Rendered) -> None:
    realtime = overlay.get("Deployment", "realtime")
    pre_stop = main_container(realtime)["lifecycle"]["preStop"]["sleep"]["seconds"]
    # The server then closes every socket within its close timeout (5 s) + 1 s.
    assert pod_spec(realtime)["terminationGracePeriodSeconds"] > pre_stop + 6


def test_the_worker_gets_to_finish_running_jobs_after_sigterm(overlay: Rendered) -> None:
    worker = overlay.get("Deployment", "worker")
    container = main_container(worker)
    assert "--shutdown-timeout" not in container["command"]
    assert pod_spec(worker)["terminationGracePeriodSeconds"] > WORKER_SHUTDOWN_TIMEOUT
