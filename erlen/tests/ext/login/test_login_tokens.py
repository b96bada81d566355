"""API tokens: issued once, stored hashed, checked in constant time, revocable."""

from __future__ import annotations

import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import UTC

import pytest
from werkzeug.test import TestResponse

import erlen
from erlen.ext.login import current_user
from erlen.ext.login import get_login_manager
from erlen.ext.login import issue_token
from erlen.ext.login import login_required
from erlen.ext.login import MemoryTokenStore
from erlen.ext.login import revoke_token
from erlen.ext.login import token_request_loader
from erlen.ext.login import TokenRecord
from erlen.ext.login import verify_token

if t.TYPE_CHECKING:
    from erlen.testing import FlaskClient


def body_of(response: TestResponse) -> t.Any:
    """The JSON body of a response that must have one."""
    body = response.json
    assert body is not None, response.data
    return body


@pytest.fixture
def store() -> MemoryTokenStore:
    return MemoryTokenStore()


@pytest.fixture
def api_app(
    login_app: erlen.Erlen, users: dict[str, t.Any], store: MemoryTokenStore
) -> erlen.Erlen:
    manager = get_login_manager(login_app)
    manager.token_store = store
    manager.request_loader(token_request_loader(users.get))

    @login_app.get("/api/token-name")
    @login_required
    def token_name() -> dict[str, t.Any]:
        return {"user": current_user.get_id(), "token": erlen.g.api_token.name}

    return login_app


@pytest.fixture
def api(api_app: erlen.Erlen) -> FlaskClient:
    return api_app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_issued_token_has_a_prefix_an_id_and_a_secret(store: MemoryTokenStore) -> None:
    plaintext, record = issue_token("1", "laptop", store=store)

    prefix, token_id, secret = plaintext.split("_", 2)
    assert prefix == "erl"
    assert token_id == record.id
    assert len(secret) >= 43
    assert (record.user_id, record.name) == ("1", "laptop")


def test_only_a_hash_of_the_secret_is_stored(store: MemoryTokenStore) -> None:
    plaintext, record = issue_token("1", "laptop", store=store)
    secret = plaintext.split("_", 2)[2]

    stored = store.get(record.id)
    assert stored == record
    assert secret not in repr(stored)
    assert len(record.secret_hash) == 64


def test_valid_token_verifies(store: MemoryTokenStore) -> None:
    plaintext, record = issue_token("1", "laptop", store=store)

    assert verify_token(plaintext, store=store) == record


@pytest.mark.parametrize(
    "token",
    [
        "",
        "erl",
        "erl_",
        "erl__",
        "erl_0123456789abcdef_",
        "erl_0123456789abcdef_" + "a" * 43,
        "xyz_0123456789abcdef_" + "a" * 43,
        "erl_0123456789ABCDEF_" + "a" * 43,
        "erl_0123456789abcdef_" + "a" * 4000,
        "erl_\u00e9\u00e9_\u2603",
        "null",
    ],
)
def test_malformed_or_unknown_tokens_do_not_verify(store: MemoryTokenStore, token: str) -> None:
    issue_token("1", "laptop", store=store)
    assert verify_token(token, store=store) is None


def test_wrong_secret_does_not_verify(store: MemoryTokenStore) -> None:
    plaintext, _ = issue_token("1", "laptop", store=store)
    forged = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")

    assert verify_token(forged, store=store) is None


def test_revoked_token_does_not_verify(store: MemoryTokenStore) -> None:
    plaintext, record = issue_token("1", "laptop", store=store)

    assert revoke_token(record.id, store=store) is True
    assert verify_token(plaintext, store=store) is None
    assert revoke_token(record.id, store=store) is False
    assert revoke_token("0000000000000000", store=store) is False


def test_expired_token_does_not_verify(store: MemoryTokenStore) -> None:
    plaintext, record = issue_token("1", "ci", expires_in=timedelta(hours=1), store=store)

    assert verify_token(plaintext, store=store) == record
    later = datetime.now(UTC) + timedelta(hours=2)
    assert verify_token(plaintext, store=store, now=later) is None


def test_tokens_are_listed_per_user(store: MemoryTokenStore) -> None:
    _, first = issue_token("1", "laptop", store=store)
    _, second = issue_token("1", "ci", store=store)
    issue_token("2", "other", store=store)
    revoke_token(first.id, store=store)

    listed = store.list_for_user("1")

    assert [r.name for r in listed] == ["laptop", "ci"]
    assert listed[0].revoked and not listed[1].revoked
    assert isinstance(second, TokenRecord)


def test_store_defaults_to_the_login_managers(
    api_app: erlen.Erlen, store: MemoryTokenStore
) -> None:
    with api_app.app_context():
        plaintext, record = issue_token(1, "laptop")
        assert verify_token(plaintext) == record
    assert store.get(record.id) == record


def test_without_a_store_the_error_says_how_to_set_one(app: erlen.Erlen) -> None:
    with app.app_context(), pytest.raises(RuntimeError, match="token_store"):
        issue_token("1", "laptop")


def test_bearer_token_authenticates_an_api_request(
    api: FlaskClient, store: MemoryTokenStore
) -> None:
    plaintext, _ = issue_token("2", "deploy", store=store)

    response = api.get("/api/token-name", headers=bearer(plaintext))

    assert response.status_code == 200
    assert response.json == {"user": "2", "token": "deploy"}


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer erl_0123456789abcdef_" + "a" * 43,
        "Bearer not-a-token",
        "Bearer",
        "Bearer    ",
        "bearer erl_",
        "Bearer erl_\u00ff\u00ff_x",
        "Bearer " + "x" * 10_000,
    ],
)
def test_invalid_or_malformed_bearer_tokens_get_401_not_500(
    api: FlaskClient, authorization: str
) -> None:
    response = api.get("/api/me", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert body_of(response)["detail"] == "You must log in to access this resource."
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_refused_token_is_named_in_the_challenge(api: FlaskClient) -> None:
    response = api.get("/api/me", headers=bearer("erl_0123456789abcdef_" + "a" * 43))

    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_revoked_token_gets_401(api: FlaskClient, store: MemoryTokenStore) -> None:
    plaintext, record = issue_token("1", "laptop", store=store)
    assert api.get("/api/me", headers=bearer(plaintext)).status_code == 200

    revoke_token(record.id, store=store)

    response = api.get("/api/me", headers=bearer(plaintext))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_token_of_a_deleted_or_inactive_user_gets_401(
    api: FlaskClient, store: MemoryTokenStore, users: dict[str, t.Any]
) -> None:
    inactive, _ = issue_token("3", "old", store=store)
    orphan, _ = issue_token("99", "orphan", store=store)

    assert api.get("/api/me", headers=bearer(inactive)).status_code == 401
    assert api.get("/api/me", headers=bearer(orphan)).status_code == 401


def test_other_authorization_schemes_are_left_alone(api: FlaskClient) -> None:
    response = api.get("/api/me", headers={"Authorization": "Basic YWRhOnB3"})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_does_not_create_a_session(api: FlaskClient, store: MemoryTokenStore) -> None:
    plaintext, _ = issue_token("1", "laptop", store=store)

    api.get("/api/me", headers=bearer(plaintext))

    assert api.get_cookie("session") is None
    assert api.get("/api/me").status_code == 401
