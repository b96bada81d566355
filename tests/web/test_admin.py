"""The admin pages: who may see them, deactivating a user (locked out everywhere at once),
and the failed jobs (dead letters) listed, retried and purged."""

from __future__ import annotations

import typing as t

import pytest
from erlen import Erlen
from erlen.testing import FlaskClient
from sqlalchemy import select

from web.extensions import db
from web.extensions import jobs
from web.models import User

SignIn = t.Callable[..., FlaskClient]


@jobs.actor(max_retries=0, actor_name="admin_test_always_fails")
def always_fails(n: int) -> None:
    """A job that fails for good on its first run (no retries): a dead letter."""
    raise RuntimeError(f"boom {n}")


def _text(response: t.Any) -> str:
    return str(response.get_data(as_text=True))


def _id(app: Erlen, username: str) -> int:
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
    assert user_id is not None
    return int(user_id)


@pytest.fixture
def root(sign_in: SignIn) -> FlaskClient:
    return sign_in("root", admin=True)


def test_visitors_log_in_and_members_are_refused(client: FlaskClient, sign_in: SignIn) -> None:
    for path in ("/admin/", "/admin/users", "/admin/jobs/failed"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    member = sign_in("bob")
    for path in ("/admin/", "/admin/users", "/admin/jobs/failed"):
        refused = member.get(path)
        assert refused.status_code == 403 and "This page is for admins." in _text(refused)
    for path in (
        "/admin/jobs/failed/purge",
        "/admin/jobs/failed/retry",
        "/admin/users/1/reactivate",
    ):
        assert member.post(path).status_code == 403, path


def test_the_admin_index_is_the_user_list(root: FlaskClient) -> None:
    response = root.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"


def test_unknown_users_are_404_for_an_admin(root: FlaskClient) -> None:
    for action in ("deactivate", "reactivate"):
        response = root.post(f"/admin/users/999999/{action}")
        assert response.status_code == 404, action


def test_the_admin_blueprint_has_its_own_templates_and_static_files(root: FlaskClient) -> None:
    page = _text(root.get("/admin/users"))
    assert 'href="/admin/static/admin.css"' in page and 'id="users"' in page
    with root.get("/admin/static/admin.css") as css:
        assert css.status_code == 200 and b"table.admin" in css.data


def test_a_deactivated_user_is_locked_out_everywhere(
    app: Erlen, root: FlaskClient, sign_in: SignIn
) -> None:
    bob = sign_in("bob")
    other_device = sign_in("bob2")  # a second account, untouched
    assert bob.get("/rooms/").status_code == 200
    bob_id = _id(app, "bob")

    response = root.post(f"/admin/users/{bob_id}/deactivate")
    assert response.status_code == 302
    assert "bob is deactivated and signed out everywhere." in _text(root.get("/admin/users"))

    # The session bob had is over, on pages and in the API.
    assert bob.get("/rooms/").status_code == 302
    assert bob.get("/api/v1/rooms").status_code == 401
    assert other_device.get("/rooms/").status_code == 200
    fresh = app.test_client()
    page = _text(fresh.get("/login"))
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    refused = fresh.post(
        "/login",
        data={"username": "bob", "password": "correct horse battery", "csrf_token": token},
    )
    assert refused.status_code == 403 and "This account is deactivated." in _text(refused)

    assert root.post(f"/admin/users/{bob_id}/reactivate").status_code == 302
    again = fresh.post(
        "/login",
        data={"username": "bob", "password": "correct horse battery", "csrf_token": token},
    )
    assert again.status_code == 302


def test_an_admin_cannot_deactivate_themselves_or_nobody(app: Erlen, root: FlaskClient) -> None:
    refused = root.post(f"/admin/users/{_id(app, 'root')}/deactivate")
    assert refused.status_code == 409 and "You can&#39;t deactivate your own account." in _text(
        refused
    )
    assert root.post("/admin/users/999/deactivate").status_code == 404
    assert root.post("/admin/users/99999999999/deactivate").status_code == 404


def test_failed_jobs_are_listed_retried_and_purged(
    app: Erlen, root: FlaskClient, worker: t.Any
) -> None:
    assert "No failed jobs." in _text(root.get("/admin/jobs/failed"))
    with app.app_context():
        always_fails.send(1)
        always_fails.send(2)
    worker.drain()

    page = _text(root.get("/admin/jobs/failed"))
    assert page.count("admin_test_always_fails") >= 2
    assert "RuntimeError: boom 1" in page and "RuntimeError: boom 2" in page
    letter_id = page.split('<tr data-id="', 1)[1].split('"', 1)[0]

    assert root.post(f"/admin/jobs/failed/{letter_id}/retry").status_code == 302
    assert "is queued again" in _text(root.get("/admin/jobs/failed"))
    worker.drain()  # it fails again, and is a dead letter again
    assert root.post("/admin/jobs/failed/nope/retry").status_code == 404

    assert root.post("/admin/jobs/failed/retry").status_code == 302
    worker.drain()
    assert root.post("/admin/jobs/failed/purge").status_code == 302
    page = _text(root.get("/admin/jobs/failed"))
    assert "failed jobs deleted." in page and "No failed jobs." in page
