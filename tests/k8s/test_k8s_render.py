"""Every overlay renders with kubectl's kustomize and matches the Kubernetes API schemas,
offline (kubernetes-validate ships them)."""

from __future__ import annotations

import kubernetes_validate
import pytest
from k8s_manifests import Rendered

# The oldest release the manifests are written for (the preStop `sleep` action is on by
# default from 1.30) and the newest the bundled schemas know.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.utils.latest_version())

APP_OBJECTS = {
    ("Deployment", "web"),
    ("Deployment", "realtime"),
    ("Deployment", "worker"),
    ("Job", "migrate"),
    ("Service", "web"),
    ("Service", "realtime"),
    ("Ingress", "web"),
    ("Ingress", "realtime"),
    ("HorizontalPodAutoscaler", "web"),
    ("HorizontalPodAutoscaler", "realtime"),
    ("PodDisruptionBudget", "web"),
    ("PodDisruptionBudget", "realtime"),
    ("PodDisruptionBudget", "worker"),
}
BACKING_OBJECTS = {
    ("StatefulSet", "postgres"),
    ("StatefulSet", "redis"),
    ("Service", "postgres"),
    ("Service", "redis"),
}


def names(rendered: Rendered) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in rendered.objects}


def test_production_runs_the_app_and_leaves_postgres_and_redis_outside(
    production: Rendered,
) -> None:
    assert APP_OBJECTS <= names(production)
    assert not BACKING_OBJECTS & names(production)


def test_dev_runs_the_app_with_postgres_and_redis_in_the_cluster(dev: Rendered) -> None:
    assert APP_OBJECTS | BACKING_OBJECTS <= names(dev)


def test_everything_lands_in_the_overlays_namespace_which_enforces_restricted_pods(
    overlay: Rendered,
) -> None:
    (namespace,) = overlay.of_kind("Namespace")
    name = namespace["metadata"]["name"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for o in overlay.objects:
        if o["kind"] != "Namespace":
            assert o["metadata"].get("namespace") == name, o["metadata"]["name"]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_matches_the_kubernetes_schema(overlay: Rendered, version: str) -> None:
    problems = []
    for o in overlay.objects:
        label = f"{o['kind']}/{o['metadata']['name']}"
        try:
            kubernetes_validate.validate(o, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            problems.append(f"{label}: {path}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{label}: no schema for {o['apiVersion']} {o['kind']}")
    assert problems == []
