"""API tokens: made on the account page or through the API, shown once, sent as a bearer
token by clients that have no session (and so no CSRF token), revoked one by one or all at
once when an admin deactivates the user. Also ``/api/v1/me``."""

from __future__ import annotations

import typing as t

import pytest
from erlen import Erlen
from erlen.testing import FlaskClient
from sqlalchemy import select

from web.extensions import db
from web.models import ApiToken
from web.models import User

SignIn = t.Callable[..., FlaskClient]


def _text(response: t.Any) -> str:
    return str(response.get_data(as_text=True))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _new_token(client: FlaskClient, name: str = "laptop") -> str:
    response = client.post("/api/v1/tokens", json={"name": name})
    assert response.status_code == 201, _text(response)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body is not None
    token = str(body["token"])
    assert token.startswith(f"erl_{body['id']}_")
    return token


def test_a_token_made_on_the_page_is_shown_once_and_works(app: Erlen, ada: FlaskClient) -> None:
    assert "No tokens yet." in _text(ada.get("/account/tokens"))
    created = ada.post("/account/tokens", data={"name": "laptop"})
    assert created.status_code == 201
    token = _text(created).split('<div class="flash success" role="status" id="new-token">', 1)[1]
    token = token.split("<code>", 1)[1].split("</code>", 1)[0]
    assert token.startswith("erl_")
    listed = _text(ada.get("/account/tokens"))
    assert "laptop" in listed and token not in listed  # never shown again
    with app.app_context():
        stored = db.session.scalars(select(ApiToken.secret_hash)).all()
    assert stored and token.rsplit("_", 1)[1] not in stored  # only a hash is kept

    machine = app.test_client()  # no session, no CSRF token
    me = machine.get("/api/v1/me", headers=_bearer(token))
    assert me.status_code == 200 and (me.get_json() or {})["username"] == "ada"
    room = machine.post("/api/v1/rooms", json={"name": "Bots"}, headers=_bearer(token))
    assert room.status_code == 201, _text(room)


@pytest.mark.parametrize("name", ["", " ", "x" * 61])
def test_a_bad_token_name_is_refused_on_the_page(ada: FlaskClient, name: str) -> None:
    response = ada.post("/account/tokens", data={"name": name})
    assert response.status_code == 422
    assert "A token&#39;s name is 1 to 60 characters." in _text(response)


def test_wrong_revoked_and_malformed_tokens_get_401(app: Erlen, ada: FlaskClient) -> None:
    token = _new_token(ada)
    machine = app.test_client()
    token_id = token.split("_")[1]
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for candidate in (wrong, "erl_nope", "not a token"):
        response = machine.get("/api/v1/me", headers=_bearer(candidate))
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
    assert ada.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    assert machine.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    assert ada.delete(f"/api/v1/tokens/{token_id}").status_code == 404  # already revoked
    assert (ada.get("/api/v1/tokens").get_json() or {})["items"] == []


def test_a_visitor_is_sent_to_log_in_for_the_tokens_page(client: FlaskClient) -> None:
    for response in (client.get("/account/tokens"), client.post("/account/tokens")):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


def test_a_token_is_revoked_from_the_page_and_only_by_its_owner(
    app: Erlen, ada: FlaskClient, sign_in: SignIn
) -> None:
    token = _new_token(ada)
    token_id = token.split("_")[1]
    bob = sign_in("bob")
    assert bob.post(f"/account/tokens/{token_id}/revoke").status_code == 404
    assert bob.delete(f"/api/v1/tokens/{token_id}").status_code == 404
    assert app.test_client().get("/api/v1/me", headers=_bearer(token)).status_code == 200
    assert ada.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    assert app.test_client().get("/api/v1/me", headers=_bearer(token)).status_code == 401


def test_the_session_still_needs_its_csrf_token_when_a_bearer_header_is_added(
    app: Erlen, ada: FlaskClient, sign_in: SignIn
) -> None:
    other = _new_token(sign_in("bob"))
    forged = app.test_client()
    cookie = ada.get_cookie("session")
    assert cookie is not None
    forged.set_cookie("session", cookie.value)
    # The session's user (ada) wins over the token, so the CSRF check applies to her.
    response = forged.post("/api/v1/rooms", json={"name": "x"}, headers=_bearer(other))
    assert response.status_code == 400
    assert "CSRF" in (response.get_json() or {})["detail"]


def test_deactivating_a_user_revokes_their_tokens(
    app: Erlen, ada: FlaskClient, sign_in: SignIn
) -> None:
    token = _new_token(ada)
    root = sign_in("root", admin=True)
    with app.app_context():
        ada_id = db.session.scalar(select(User.id).where(User.username == "ada"))
    assert root.post(f"/admin/users/{ada_id}/deactivate").status_code == 302
    assert app.test_client().get("/api/v1/me", headers=_bearer(token)).status_code == 401
    with app.app_context():
        assert db.session.scalar(select(ApiToken.revoked_at)) is not None
    # Reactivated, she signs in again, but the old token stays dead.
    assert root.post(f"/admin/users/{ada_id}/reactivate").status_code == 302
    assert app.test_client().get("/api/v1/me", headers=_bearer(token)).status_code == 401


def test_me_shows_and_changes_the_email(ada: FlaskClient, sign_in: SignIn) -> None:
    me = ada.get("/api/v1/me").get_json() or {}
    assert (me["username"], me["email"], me["is_admin"]) == ("ada", None, False)
    changed = ada.patch("/api/v1/me", json={"email": "Ada@Example.com"})
    assert (changed.get_json() or {})["email"] == "ada@example.com"
    bad = ada.patch("/api/v1/me", json={"email": "not an address"})
    assert bad.status_code == 422
    taken = sign_in("bob").patch("/api/v1/me", json={"email": "ada@example.com"})
    assert taken.status_code == 422
    assert (taken.get_json() or {})["detail"] == "Another account uses that email address."


def test_the_document_describes_the_account_routes_and_bearer_auth(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json() or {}
    assert {"/api/v1/me", "/api/v1/tokens", "/api/v1/tokens/{token_id}"} <= set(document["paths"])
    assert "Authorization: Bearer" in document["info"]["description"]
