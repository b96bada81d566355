"""Fixtures for the REST extension: the sample things API, its store and a client."""

from __future__ import annotations

import pytest
from rest_sample import create_app
from rest_sample import Store
from rest_sample import ThingIn

import erlen
from erlen.testing import FlaskClient


@pytest.fixture
def store() -> Store:
    """The sample API's store, empty."""
    return Store()


@pytest.fixture
def api_app(store: Store) -> erlen.Erlen:
    """The sample app (things API under ``/api``), in testing mode."""
    app = create_app(store)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def api_client(api_app: erlen.Erlen) -> FlaskClient:
    """A test client for the sample app."""
    return api_app.test_client()


@pytest.fixture
def three_things(store: Store) -> Store:
    """The store, holding the things "apple" (1), "banana" (2) and "cherry" (3)."""
    for name in ("apple", "banana", "cherry"):
        store.add(ThingIn(name=name, quantity=len(name)))
    return store
