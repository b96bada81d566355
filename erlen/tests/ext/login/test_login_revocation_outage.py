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
from erlen.ext.login import RevocationUnavailable
from erlen.ext.login.revocation import RETRY_AFTER


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
