"""``Broker.ping``: what readiness probes use to tell whether events can be published."""

from __future__ import annotations

import pytest

from erlen.realtime.broker import broker_from_url
from erlen.realtime.errors import BrokerClosed
from erlen.realtime.errors import BrokerUnavailable


def test_ping_succeeds_on_a_working_broker(make_broker) -> None:  # type: ignore[no-untyped-def]
    make_broker().ping()


def test_ping_fails_once_closed(make_broker) -> None:  # type: ignore[no-untyped-def]
    broker = make_broker()
    broker.close()
    with pytest.raises(BrokerClosed):
        broker.ping()


def test_ping_fails_when_redis_is_unreachable() -> None:
    broker = broker_from_url("redis://127.0.0.1:1/0", prefix="ping-test")
    try:
        with pytest.raises(BrokerUnavailable, match="did not answer PING"):
            broker.ping()
    finally:
        broker.close()
