"""The revocation list while Redis is down: logins keep working for a bounded time (fail
open), sessions this process revoked stay revoked, and past the bound checks fail closed
with a 503; one warning when the outage starts, one line when it ends."""

from __future__ import annotations

import logging
import typing as t

import pytest
import redis
from erlen_tests_private_redis import PrivateRedis

import erlen
from erlen.ext.login import RedisRevocationStore
from erlen.ext.login import RevocationNotShared
from erlen.ext.login import RevocationUnavailable
from erlen.ext.login.revocation import RETRY_AFTER
from erlen.ext.login.revocation import revocation_store_from_config


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_store_fails_open_for_a_bounded_time_then_closed(
    private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    client = redis.Redis.from_url(private_redis.url, socket_timeout=2, socket_connect_timeout=2)
    clock = Clock()
    store = RedisRevocationStore(client, "test", fail_open=60, clock=clock)
    other_process = RedisRevocationStore(client, "test", fail_open=60, clock=clock)
    caplog.set_level(logging.INFO, logger="erlen.ext.login")
    try:
        store.revoke("mine", 3600)
        other_process.revoke("theirs", 3600)
        assert store.is_revoked("theirs")

        private_redis.kill()
        assert store.is_revoked("mine")  # this process remembers its own revocations
        assert not store.is_revoked("active")
        assert not store.is_revoked("theirs")  # the accepted risk, for at most 60 s
        clock.now += 59
        assert not store.is_revoked("active")
        clock.now += 1
        with pytest.raises(RevocationUnavailable) as info:
            store.is_revoked("active")
        assert info.value.code == 503
        assert store.is_revoked("mine")

        private_redis.start()
        clock.now += RETRY_AFTER
        assert not store.is_revoked("active")
        assert store.outage_since is None
        store.revoke("later", 60)
        assert other_process.is_revoked("later")
    finally:
        client.close()
    messages = [record.getMessage() for record in caplog.records]
    assert sum("unreachable" in m for m in messages) == 1
    assert sum("reachable again" in m for m in messages) == 1
    assert not any(record.exc_info for record in caplog.records)


def _logged_in_client_with_redis_down(
    request: pytest.FixtureRequest, private_redis: PrivateRedis, **config: t.Any
) -> t.Any:
    app: erlen.Erlen = request.getfixturevalue("app")
    app.config.update(REDIS_URL=private_redis.url, **config)
    login_app: erlen.Erlen = request.getfixturevalue("login_app")
    login = request.getfixturevalue("login")
    client = login_app.test_client()
    assert login(client).status_code == 302
    assert client.get("/private").status_code == 200
    private_redis.kill()
    return client


def test_a_logged_in_user_keeps_working_while_redis_is_down(
    request: pytest.FixtureRequest, private_redis: PrivateRedis
) -> None:
    client = _logged_in_client_with_redis_down(request, private_redis)
    response = client.get("/private")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "private page of 1"


def test_with_no_fail_open_time_a_logged_in_request_gets_503_not_500(
    request: pytest.FixtureRequest, private_redis: PrivateRedis
) -> None:
    client = _logged_in_client_with_redis_down(request, private_redis, LOGIN_REVOCATION_FAIL_OPEN=0)
    response = client.get("/api/me", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"


def _as_another_process(app: erlen.Erlen) -> None:
    """Give ``app`` a fresh revocation store: what a process that didn't serve the logout
    knows (nothing from this one's memory)."""
    app.extensions["login.revocations"] = revocation_store_from_config(app)


def test_a_logout_while_redis_is_down_ends_every_session_instead(
    request: pytest.FixtureRequest,
    private_redis: PrivateRedis,
    users: dict[str, t.Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = _logged_in_client_with_redis_down(request, private_redis)
    login_app: erlen.Erlen = request.getfixturevalue("login_app")
    session_cookie = client.get_cookie("session")
    assert session_cookie is not None
    copied = session_cookie.value
    caplog.set_level(logging.WARNING, logger="erlen.ext.login")

    response = client.post("/logout")

    assert response.status_code == 200
    assert client.get("/whoami").get_data(as_text=True) == "anonymous"
    # The revocation list couldn't be told; the user's epoch (their database row) could.
    assert users["1"].session_epoch == 1
    _as_another_process(login_app)
    thief = login_app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/whoami").get_data(as_text=True) == "anonymous"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("ending every session of the user instead" in r.getMessage() for r in warnings)
    assert not any(record.exc_info for record in caplog.records)


def test_a_logout_everywhere_while_redis_is_down_bumps_the_epoch_once(
    request: pytest.FixtureRequest, private_redis: PrivateRedis, users: dict[str, t.Any]
) -> None:
    client = _logged_in_client_with_redis_down(request, private_redis)

    response = client.post("/logout", data={"everywhere": "1"})

    assert response.status_code == 200
    assert users["1"].session_epoch == 1
    assert client.get("/whoami").get_data(as_text=True) == "anonymous"


def test_the_store_says_when_a_revocation_was_not_shared(private_redis: PrivateRedis) -> None:
    client = redis.Redis.from_url(private_redis.url, socket_timeout=2, socket_connect_timeout=2)
    store = RedisRevocationStore(client, "test")
    try:
        private_redis.kill()
        with pytest.raises(RevocationNotShared):
            store.revoke("gone", 60)
        assert store.is_revoked("gone")  # this process still refuses it
        with pytest.raises(RevocationNotShared):
            store.revoke_epochs_before("1", 3, 60)
    finally:
        client.close()
