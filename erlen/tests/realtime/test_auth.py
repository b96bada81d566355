"""Handshake auth reads the session cookie web sets, and the Origin check is exact."""

from __future__ import annotations

import time
import typing as t
import uuid
from datetime import datetime
from datetime import timedelta
from datetime import UTC

import pytest
from itsdangerous.timed import TimestampSigner

import erlen
from erlen.realtime import check_origin
from erlen.realtime import OriginPolicy
from erlen.realtime import SessionCookieAuth


def session_cookie_from_web(app: erlen.Erlen, **data: t.Any) -> str:
    """Log in through a real request and return the Set-Cookie value web sends."""

    @app.post("/login")
    def login() -> str:
        erlen.session.update(data)
        return "ok"

    response = app.test_client().post("/login")
    header = response.headers["Set-Cookie"]
    name, _, rest = header.partition("=")
    assert name == app.config["SESSION_COOKIE_NAME"]
    return rest.split(";", 1)[0]


def test_cookie_set_by_web_authenticates_the_handshake(app: erlen.Erlen) -> None:
    cookie = session_cookie_from_web(app, user_id=7, name="ada")
    auth = SessionCookieAuth(app.secret_key)  # type: ignore[arg-type]
    assert auth.authenticate(f"theme=dark; session={cookie}; other=1") == {
        "user_id": 7,
        "name": "ada",
    }


def test_tagged_session_values_come_back_as_web_stored_them(app: erlen.Erlen) -> None:
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    ident = uuid.uuid4()
    cookie = session_cookie_from_web(app, pair=(1, 2), when=when, ident=ident, raw=b"\x00")
    session = SessionCookieAuth.from_app(app).authenticate(f"session={cookie}")
    assert session == {"pair": (1, 2), "when": when, "ident": ident, "raw": b"\x00"}


def test_from_app_follows_cookie_name_and_key_fallbacks(app: erlen.Erlen) -> None:
    app.config["SESSION_COOKIE_NAME"] = "sid"
    old = session_cookie_from_web(app, user_id=1)
    app.config.update(SECRET_KEY="rotated key", SECRET_KEY_FALLBACKS=["test secret key"])
    auth = SessionCookieAuth.from_app(app)
    assert auth.cookie_name == "sid"
    assert auth.authenticate(f"sid={old}") == {"user_id": 1}
    assert auth.authenticate(f"session={old}") is None
    assert SessionCookieAuth("rotated key", cookie_name="sid").authenticate(f"sid={old}") is None


@pytest.mark.parametrize(
    "header",
    [None, "", "theme=dark", "session=", "session=garbage", "session=eyJ1c2VyIjoxfQ.AAAA.BBBB"],
)
def test_missing_or_invalid_cookies_give_no_session(header: str | None) -> None:
    assert SessionCookieAuth("test secret key").authenticate(header) is None


def test_cookie_signed_with_another_key_or_tampered_is_refused(app: erlen.Erlen) -> None:
    cookie = session_cookie_from_web(app, user_id=7)
    assert SessionCookieAuth("another key").authenticate(f"session={cookie}") is None
    payload, _, signature = cookie.partition(".")
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    assert SessionCookieAuth(app.secret_key).authenticate(f"session={tampered}") is None  # type: ignore[arg-type]


def test_expired_cookies_are_refused(app: erlen.Erlen, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 3600)
    cookie = session_cookie_from_web(app, user_id=7)
    monkeypatch.undo()
    assert SessionCookieAuth("test secret key", max_age=60).load(cookie) is None
    assert SessionCookieAuth("test secret key", max_age=timedelta(hours=2)).load(cookie) == {
        "user_id": 7
    }


def test_empty_session_is_not_authenticated(app: erlen.Erlen) -> None:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert SessionCookieAuth("test secret key").load(serializer.dumps({})) is None


def test_secret_key_is_required() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        SessionCookieAuth("")


ALLOWED = ["http://localhost:5000", "https://app.example.com"]


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        ("http://localhost:5000", True),
        ("HTTP://LOCALHOST:5000", True),
        ("https://app.example.com", True),
        ("https://app.example.com:443", True),
        (None, False),
        ("null", False),
        ("", False),
        ("http://localhost:5001", False),
        ("https://localhost:5000", False),
        ("http://app.example.com", False),
        ("https://evil.app.example.com", False),
        ("https://app.example.com.evil.org", False),
        ("https://app.example.com/path", False),
        ("https://user@app.example.com", False),
        ("http://localhost:99999", False),
    ],
)
def test_origin_must_match_scheme_host_and_port_exactly(origin: str | None, accepted: bool) -> None:
    assert check_origin(origin, ALLOWED) is accepted


def test_origin_policy_can_accept_non_browser_clients() -> None:
    assert OriginPolicy(ALLOWED, allow_missing=True)(None) is True
    assert OriginPolicy(ALLOWED, allow_missing=True)("http://evil.test") is False


def test_malformed_allowed_origins_are_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="'localhost:5000/app'"):
        OriginPolicy(["localhost:5000/app"])


@pytest.mark.parametrize(
    ("origin", "host", "accepted"),
    [
        ("http://192.0.2.10:8080", "192.0.2.10:8080", True),  # the page's own origin
        ("https://chat.example", "chat.example", True),  # default ports on both sides
        ("HTTP://Chat.Example:80", "chat.example", True),
        ("http://chat.example", "chat.example:8443", False),  # another port
        ("http://evil.example", "chat.example", False),  # another site
        ("http://192.0.2.10:8080", None, False),  # no Host: nothing to compare with
        ("http://192.0.2.10:8080", "192.0.2.10:bad", False),
        ("http://[2001:db8::1]:8080", "[2001:db8::1]:8080", True),
    ],
)
def test_same_origin_accepts_the_page_served_from_the_sockets_host(
    origin: str, host: str | None, accepted: bool
) -> None:
    policy = OriginPolicy([], same_origin=True)

    assert policy(origin, host) is accepted


def test_same_origin_is_off_unless_asked() -> None:
    assert OriginPolicy([])("http://chat.example", "chat.example") is False


def test_same_host_ports_accept_the_web_port_of_the_sockets_host() -> None:
    # make dev: the page on :5000, the socket on :5001, on whatever address was typed.
    policy = OriginPolicy([], same_host_ports=[5000])

    assert policy("http://192.168.1.20:5000", "192.168.1.20:5001") is True
    assert policy("http://192.168.1.20:5002", "192.168.1.20:5001") is False
    assert policy("http://192.168.1.99:5000", "192.168.1.20:5001") is False
