"""One contract for each pair of twin backends, run against memory and real Redis.

The throttle counters and the revocation list each have a Redis backend and an in-memory
twin; whatever the app sees must not depend on which one is configured.
"""

from __future__ import annotations

import time
import typing as t

import pytest

from erlen.ext.login import MemoryRevocationStore
from erlen.ext.login import MemoryThrottleBackend
from erlen.ext.login import RedisRevocationStore
from erlen.ext.login import RedisThrottleBackend
from erlen.ext.login import RevocationStore
from erlen.ext.login import ThrottleBackend

if t.TYPE_CHECKING:
    import redis


@pytest.fixture(params=["memory", "redis"])
def throttle_backend(request: pytest.FixtureRequest) -> ThrottleBackend:
    if request.param == "memory":
        return MemoryThrottleBackend()
    client, prefix = t.cast("tuple[redis.Redis, str]", request.getfixturevalue("redis_target"))
    return RedisThrottleBackend(client, prefix)


@pytest.fixture(params=["memory", "redis"])
def revocations(request: pytest.FixtureRequest) -> RevocationStore:
    if request.param == "memory":
        return MemoryRevocationStore()
    client, prefix = t.cast("tuple[redis.Redis, str]", request.getfixturevalue("redis_target"))
    return RedisRevocationStore(client, prefix)


# -- throttle counters --------------------------------------------------------------------


def test_hits_count_up_within_the_window(throttle_backend: ThrottleBackend) -> None:
    counts = [throttle_backend.hit("k", 60)[0] for _ in range(3)]

    assert counts == [1, 2, 3]


def test_hit_reports_the_time_left_in_the_window(throttle_backend: ThrottleBackend) -> None:
    _, first = throttle_backend.hit("k", 60)
    _, second = throttle_backend.hit("k", 60)

    assert 59 <= first <= 60
    assert second <= first


def test_later_hits_do_not_extend_the_window(throttle_backend: ThrottleBackend) -> None:
    throttle_backend.hit("k", 0.3)
    time.sleep(0.15)
    _, left = throttle_backend.hit("k", 0.3)

    assert left <= 0.2


def test_counter_resets_when_the_window_ends(throttle_backend: ThrottleBackend) -> None:
    throttle_backend.hit("k", 0.2)
    throttle_backend.hit("k", 0.2)
    time.sleep(0.3)

    assert throttle_backend.peek("k") == (0, 0.0)
    assert throttle_backend.hit("k", 0.2)[0] == 1


def test_peek_does_not_count(throttle_backend: ThrottleBackend) -> None:
    assert throttle_backend.peek("k") == (0, 0.0)
    throttle_backend.hit("k", 60)

    count, left = throttle_backend.peek("k")
    assert count == 1 and 59 <= left <= 60
    assert throttle_backend.peek("k")[0] == 1


def test_forgive_takes_one_back_but_never_below_zero(throttle_backend: ThrottleBackend) -> None:
    throttle_backend.hit("k", 60)
    throttle_backend.hit("k", 60)

    throttle_backend.forgive("k")
    assert throttle_backend.peek("k")[0] == 1
    throttle_backend.forgive("k")
    throttle_backend.forgive("k")
    assert throttle_backend.peek("k")[0] == 0
    throttle_backend.forgive("never-hit")
    assert throttle_backend.peek("never-hit") == (0, 0.0)


def test_clear_forgets_the_counter(throttle_backend: ThrottleBackend) -> None:
    throttle_backend.hit("k", 60)

    throttle_backend.clear("k")

    assert throttle_backend.peek("k") == (0, 0.0)


def test_keys_are_independent(throttle_backend: ThrottleBackend) -> None:
    throttle_backend.hit("a", 60)
    throttle_backend.hit("a", 60)

    assert throttle_backend.hit("b", 60)[0] == 1


# -- revocation list ----------------------------------------------------------------------


def test_revoked_ids_are_revoked_and_others_are_not(revocations: RevocationStore) -> None:
    revocations.revoke("sid-1", 60)

    assert revocations.is_revoked("sid-1") is True
    assert revocations.is_revoked("sid-2") is False


def test_revocations_expire(revocations: RevocationStore) -> None:
    revocations.revoke("sid-1", 0.2)
    time.sleep(0.3)

    assert revocations.is_revoked("sid-1") is False


def test_a_shorter_second_revocation_does_not_shorten_the_first(
    revocations: RevocationStore,
) -> None:
    revocations.revoke("sid-1", 60)
    revocations.revoke("sid-1", 0.1)
    time.sleep(0.2)

    assert revocations.is_revoked("sid-1") is True


def test_epoch_floor_is_zero_until_set_then_only_rises(revocations: RevocationStore) -> None:
    assert revocations.epoch_floor("7") == 0

    revocations.revoke_epochs_before("7", 3, 60)
    revocations.revoke_epochs_before("7", 2, 60)  # a late, older logout-everywhere

    assert revocations.epoch_floor("7") == 3
    assert revocations.epoch_floor("8") == 0


def test_epoch_floors_expire(revocations: RevocationStore) -> None:
    revocations.revoke_epochs_before("7", 3, 0.2)
    time.sleep(0.3)

    assert revocations.epoch_floor("7") == 0


# -- Redis specifics ----------------------------------------------------------------------


def test_redis_keys_live_under_the_prefix_and_expire(
    redis_target: tuple[redis.Redis, str],
) -> None:
    client, prefix = redis_target
    RedisThrottleBackend(client, prefix).hit("login-throttle:ip:10.0.0.1", 60)
    RedisRevocationStore(client, prefix).revoke("sid-1", 60)

    keys = sorted(k.decode() for k in client.scan_iter(match=f"{prefix}:*"))

    assert keys == [f"{prefix}:login-revoked:sid-1", f"{prefix}:login-throttle:ip:10.0.0.1"]
    assert all(0 < client.ttl(k) <= 60 for k in keys)
