"""The migrated Flaskr example (examples/flaskr, docs/migrating-from-flask.md) runs on erlen:
register, log in, write, edit and delete posts, with CSRF enforced and the legacy
Flask-SQLAlchemy and Flask-Login APIs it was written against.
"""

from __future__ import annotations

import importlib
import os
import re
import typing as t

import pytest

import erlen
from erlen.testing import FlaskClient

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def flaskr(monkeypatch: pytest.MonkeyPatch) -> t.Any:
    monkeypatch.syspath_prepend(os.path.join(EXAMPLE, "flaskr"))
    return importlib.import_module("flaskr")


@pytest.fixture
def flaskr_app(flaskr: t.Any) -> t.Iterator[erlen.Erlen]:
    app: erlen.Erlen = flaskr.create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    db = flaskr.extensions.db
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


def _post(client: FlaskClient, url: str, *, on: str | None = None, **form: str) -> t.Any:
    """Send the form to ``url`` as a browser would: with the CSRF token of the page it is on
    (``on``, default ``url`` itself).
    """
    page = client.get(on or url)
    assert page.status_code == 200, page.text
    match = _TOKEN.search(page.text)
    assert match is not None, "the form has no CSRF field"
    return client.post(url, data={"csrf_token": match.group(1), **form})


def test_the_migrated_app_registers_logs_in_and_writes_posts(flaskr_app: erlen.Erlen) -> None:
    client = flaskr_app.test_client()
    assert client.get("/create").location == "/auth/login?next=%2Fcreate"

    response = _post(client, "/auth/register", username="ada", password="pw")
    assert response.location == "/auth/login"
    assert (
        "already registered" in _post(client, "/auth/register", username="ada", password="x").text
    )
    assert "Incorrect" in _post(client, "/auth/login", username="ada", password="no").text
    assert _post(client, "/auth/login", username="ada", password="pw").location == "/"

    assert _post(client, "/create", title="Hello", body="first post").location == "/"
    index = client.get("/").text
    assert "Hello" in index and "by ada" in index and 'href="/1/update"' in index

    assert _post(client, "/1/update", title="Hello again", body="edited").location == "/"
    assert "Hello again" in client.get("/").text
    assert client.get("/2/update").status_code == 404

    assert _post(client, "/1/delete", on="/1/update").location == "/"
    assert "Hello again" not in client.get("/").text

    _post(client, "/auth/logout", on="/")  # the form in the page's header
    assert client.get("/create").status_code == 302


def test_forms_without_the_csrf_token_are_refused(flaskr_app: erlen.Erlen) -> None:
    client = flaskr_app.test_client()
    response = client.post("/auth/register", data={"username": "eve", "password": "pw"})
    assert response.status_code == 400
    assert "CSRF" in response.text


def test_only_the_author_may_edit(flaskr_app: erlen.Erlen) -> None:
    for name in ("ada", "bob"):
        client = flaskr_app.test_client()
        _post(client, "/auth/register", username=name, password="pw")
        _post(client, "/auth/login", username=name, password="pw")
        if name == "ada":
            _post(client, "/create", title="Ada's", body="")
    assert client.get("/1/update").status_code == 403


def test_the_legacy_query_api_still_answers(flaskr_app: erlen.Erlen, flaskr: t.Any) -> None:
    client = flaskr_app.test_client()
    _post(client, "/auth/register", username="ada", password="pw")
    User = flaskr.models.User
    with flaskr_app.app_context():
        user = User.query.filter_by(username="ada").one()
        assert user.posts.count() == 0  # a lazy="dynamic" relationship: a query
        assert repr(user) == "<User 1>"
