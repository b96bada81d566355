"""Behaviour of erlen.sessions: the session object, and the signed cookie session interface."""

from __future__ import annotations

import typing as t
import uuid
from datetime import datetime
from datetime import timedelta
from datetime import UTC

import pytest
from itsdangerous import BadSignature
from itsdangerous import URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.http import parse_date
from werkzeug.wrappers import Response as WerkzeugResponse

import erlen
from erlen import _fastpaths
from erlen import sessions as erlen_sessions
from erlen.sessions import NullSession
from erlen.sessions import SecureCookieSession
from erlen.sessions import SecureCookieSessionInterface
from erlen.sessions import SessionInterface
from erlen.sessions import SessionMixin

if t.TYPE_CHECKING:
    from werkzeug.test import TestResponse

    from erlen import Erlen


@pytest.fixture
def app() -> Erlen:
    app = erlen.Erlen("sessions_app")
    app.config.update(TESTING=True, SECRET_KEY="sessions secret")

    @app.post("/set")
    def set_value() -> str:
        for key, value in erlen.request.form.items():
            erlen.session[key] = value
        return ""

    @app.get("/get")
    def get_value() -> dict[str, t.Any]:
        return dict(erlen.session)

    @app.get("/nothing")
    def nothing() -> str:
        return ""

    @app.post("/clear")
    def clear() -> str:
        erlen.session.clear()
        return ""

    @app.post("/permanent")
    def permanent() -> str:
        erlen.session["user"] = "ada"
        erlen.session.permanent = True
        return ""

    return app


def _set_cookie(response: TestResponse) -> str:
    """The response's single Set-Cookie header, lower-cased for attribute checks."""
    headers = response.headers.getlist("Set-Cookie")
    assert len(headers) == 1, headers
    return headers[0].lower()


# The session object


def test_new_cookie_session_is_clean() -> None:
    session = SecureCookieSession()
    assert not session.modified
    assert not session.accessed
    assert not session.new
    assert not session.permanent


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.__setitem__("a", 1),
        lambda s: s.update(a=1),
        lambda s: s.setdefault("new", 1),
        lambda s: s.pop("x"),
        lambda s: s.__delitem__("x"),
        lambda s: s.clear(),
    ],
)
def test_changes_mark_session_modified_and_accessed(
    change: t.Callable[[SecureCookieSession], object],
) -> None:
    session = SecureCookieSession({"x": 1})
    change(session)
    assert session.modified
    assert session.accessed


@pytest.mark.parametrize(
    "read",
    [
        lambda s: s["x"],
        lambda s: s.get("x"),
        lambda s: s.setdefault("x", 2),
        lambda s: "x" in s,
        lambda s: len(s),
        lambda s: bool(s),
    ],
)
def test_reads_mark_session_accessed_not_modified(
    read: t.Callable[[SecureCookieSession], object],
) -> None:
    session = SecureCookieSession({"x": 1})
    read(session)
    assert session.accessed
    assert not session.modified


def test_permanent_is_stored_in_the_session() -> None:
    session = SecureCookieSession()
    session.permanent = True
    assert session["_permanent"] is True
    assert session.permanent
    assert session.modified


def test_mixin_makes_a_dict_a_session() -> None:
    class DictSession(dict[str, t.Any], SessionMixin):
        pass

    session = DictSession()
    assert session.modified  # can't track changes, so always saved
    assert not session.accessed
    session.permanent = True
    assert session == {"_permanent": True}


def test_null_session_reads_as_empty() -> None:
    session = NullSession()
    assert session.get("anything") is None
    assert "anything" not in session
    assert len(session) == 0


@pytest.mark.parametrize(
    "write",
    [
        lambda s: s.__setitem__("a", 1),
        lambda s: s.__delitem__("a"),
        lambda s: s.clear(),
        lambda s: s.pop("a"),
        lambda s: s.popitem(),
        lambda s: s.update(a=1),
        lambda s: s.setdefault("a", 1),
    ],
)
def test_null_session_refuses_writes_with_explanation(
    write: t.Callable[[NullSession], object],
) -> None:
    with pytest.raises(RuntimeError, match="no secret key was set"):
        write(NullSession())


def test_interface_makes_and_recognises_null_sessions() -> None:
    interface = SessionInterface()
    null = interface.make_null_session(t.cast("Erlen", None))
    assert isinstance(null, NullSession)
    assert interface.is_null_session(null)
    assert not interface.is_null_session(SecureCookieSession())


def test_base_interface_requires_open_and_save() -> None:
    interface = SessionInterface()
    with pytest.raises(NotImplementedError):
        interface.open_session(t.cast("Erlen", None), t.cast(t.Any, None))
    with pytest.raises(NotImplementedError):
        interface.save_session(t.cast("Erlen", None), SecureCookieSession(), t.cast(t.Any, None))


# Round trips through the app


def test_values_survive_between_requests(app: Erlen) -> None:
    client = app.test_client()
    client.post("/set", data={"colour": "green"})
    assert client.get("/get").json == {"colour": "green"}


def test_special_types_survive_the_cookie(app: Erlen) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ident = uuid.uuid4()

    @app.get("/store")
    def store() -> str:
        erlen.session.update(
            t=(1, 2), b=b"\xff", m=Markup("<i>"), u=ident, d=now, tagged={" t": "not a tuple"}
        )
        return ""

    @app.get("/check")
    def check() -> str:
        s = erlen.session
        assert s["t"] == (1, 2)
        assert s["b"] == b"\xff"
        assert type(s["m"]) is Markup
        assert s["u"] == ident
        assert s["d"] == now
        assert s["tagged"] == {" t": "not a tuple"}
        return "ok"

    client = app.test_client()
    client.get("/store")
    assert client.get("/check").text == "ok"


def test_cookie_has_secure_defaults(app: Erlen) -> None:
    cookie = _set_cookie(app.test_client().post("/set", data={"a": "1"}))
    assert cookie.startswith("session=")
    assert "httponly" in cookie
    assert "path=/" in cookie
    assert "expires=" not in cookie
    assert "domain=" not in cookie


def test_cookie_follows_session_cookie_config(app: Erlen) -> None:
    app.config.update(
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.com",
        SESSION_COOKIE_PATH="/app",
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PARTITIONED=True,
    )
    client = app.test_client()
    cookie = _set_cookie(client.post("/set", "http://www.example.com/", data={"a": "1"}))
    assert cookie.startswith("sid=")
    assert "domain=example.com" in cookie
    assert "path=/app" in cookie
    assert "httponly" not in cookie
    assert "secure" in cookie
    assert "samesite=strict" in cookie
    assert "partitioned" in cookie


def test_cookie_path_falls_back_to_application_root(app: Erlen) -> None:
    app.config["APPLICATION_ROOT"] = "/root"
    cookie = _set_cookie(app.test_client().post("/set", data={"a": "1"}))
    assert "path=/root" in cookie


def test_invalid_samesite_is_an_error(app: Erlen) -> None:
    app.config["SESSION_COOKIE_SAMESITE"] = "sometimes"
    with pytest.raises(ValueError):
        app.test_client().post("/set", data={"a": "1"})


def test_permanent_session_cookie_expires_after_lifetime(app: Erlen) -> None:
    app.permanent_session_lifetime = timedelta(days=3)
    before = datetime.now(UTC)
    cookie = _set_cookie(app.test_client().post("/permanent"))
    expires_attr = next(p for p in cookie.split("; ") if p.startswith("expires="))
    expires = parse_date(expires_attr.partition("=")[2])
    assert expires is not None
    assert before + timedelta(days=3) - timedelta(seconds=5) <= expires
    assert expires <= datetime.now(UTC) + timedelta(days=3)


def test_expired_cookie_gives_an_empty_session(app: Erlen) -> None:
    app.permanent_session_lifetime = timedelta(seconds=-1)
    client = app.test_client()
    client.post("/set", data={"a": "1"})
    assert client.get("/get").json == {}


def test_tampered_cookie_gives_an_empty_session(app: Erlen) -> None:
    client = app.test_client()
    client.post("/set", data={"a": "1"})
    cookie = client.get_cookie("session")
    assert cookie is not None
    # Change a character well inside the signature: the last base64 character carries
    # padding bits a decoder ignores, so changing only the end can leave the bytes as they were.
    value = cookie.value
    at = len(value) - 10
    changed = "A" if value[at] != "A" else "B"
    client.set_cookie("session", value[:at] + changed + value[at + 1 :])
    assert client.get("/get").json == {}


def test_other_secret_key_cannot_read_the_cookie(app: Erlen) -> None:
    client = app.test_client()
    client.post("/set", data={"a": "1"})
    app.secret_key = "another secret"
    assert client.get("/get").json == {}


def test_fallback_keys_still_read_old_cookies(app: Erlen) -> None:
    client = app.test_client()
    app.secret_key = "old key"
    client.post("/set", data={"a": "1"})

    app.secret_key = "new key"
    app.config["SECRET_KEY_FALLBACKS"] = ["older key", "old key"]
    assert client.get("/get").json == {"a": "1"}

    # New cookies are signed with the current key only.
    client.post("/set", data={"b": "2"})
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get("/get").json == {"a": "1", "b": "2"}


def test_emptying_the_session_deletes_the_cookie(app: Erlen) -> None:
    client = app.test_client()
    client.post("/set", data={"a": "1"})
    response = client.post("/clear")
    cookie = _set_cookie(response)
    assert cookie.startswith("session=;")
    assert "expires=thu, 01 jan 1970" in cookie
    assert "cookie" in response.vary
    assert client.get_cookie("session") is None


def test_deleted_cookie_keeps_cookie_attributes(app: Erlen) -> None:
    app.config.update(
        SESSION_COOKIE_DOMAIN="example.com",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PARTITIONED=True,
    )
    client = app.test_client()
    client.post("/set", "http://www.example.com/", data={"a": "1"})
    cookie = _set_cookie(client.post("/clear", "http://www.example.com/"))
    assert "domain=example.com" in cookie
    assert "secure" in cookie
    assert "samesite=lax" in cookie
    assert "partitioned" in cookie


def test_untouched_session_sets_no_cookie_and_no_vary(app: Erlen) -> None:
    client = app.test_client()
    client.post("/set", data={"a": "1"})
    response = client.get("/nothing")
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers


def test_reading_the_session_adds_vary_cookie(app: Erlen) -> None:
    client = app.test_client()
    client.post("/set", data={"a": "1"})
    response = client.get("/get")
    assert "Set-Cookie" not in response.headers
    assert response.headers.getlist("Vary") == ["Cookie"]


def test_checking_a_key_adds_vary_cookie(app: Erlen) -> None:
    @app.get("/has")
    def has() -> str:
        return str("a" in erlen.session)

    client = app.test_client()
    response = client.get("/has")
    assert response.text == "False"
    assert "cookie" in response.vary


def test_vary_cookie_is_not_duplicated(app: Erlen) -> None:
    @app.get("/both")
    def both() -> t.Any:
        erlen.session["a"] = 1
        response = erlen.make_response("")
        response.vary.update(("Accept-Encoding", "Cookie"))
        return response

    response = app.test_client().get("/both")
    assert response.headers.getlist("Vary") == ["Accept-Encoding, Cookie"]


@pytest.mark.parametrize(
    ("permanent", "refresh", "expect_cookie"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_unmodified_session_refreshes_only_when_permanent_and_configured(
    app: Erlen, permanent: bool, refresh: bool, expect_cookie: bool
) -> None:
    app.config["SESSION_REFRESH_EACH_REQUEST"] = refresh

    @app.post("/login")
    def login() -> str:
        erlen.session["user"] = "ada"
        erlen.session.permanent = permanent
        return ""

    client = app.test_client()
    client.post("/login")
    response = client.get("/nothing")
    assert ("Set-Cookie" in response.headers) is expect_cookie
    if expect_cookie:
        assert response.headers["Vary"] == "Cookie"


def test_after_request_changes_are_saved(app: Erlen) -> None:
    @app.after_request
    def count(response: t.Any) -> t.Any:
        erlen.session["seen"] = erlen.session.get("seen", 0) + 1
        return response

    client = app.test_client()
    client.get("/nothing")
    assert client.get("/get").json == {"seen": 1}


def test_without_secret_key_session_is_read_only(app: Erlen) -> None:
    app.secret_key = None
    with app.test_request_context():
        assert erlen.session.get("x") is None
        with pytest.raises(RuntimeError, match="session is unavailable"):
            erlen.session["x"] = 1


def test_custom_session_interface_is_used() -> None:
    store: dict[str, dict[str, t.Any]] = {}

    class DictSession(dict[str, t.Any], SessionMixin):
        pass

    class ServerSide(SessionInterface):
        def open_session(self, app: Erlen, request: t.Any) -> DictSession:
            return DictSession(store.get("only", {}))

        def save_session(self, app: Erlen, session: SessionMixin, response: t.Any) -> None:
            store["only"] = dict(session)

    app = erlen.Erlen("custom_sessions")
    app.session_interface = ServerSide()

    @app.get("/inc")
    def inc() -> str:
        erlen.session["n"] = erlen.session.get("n", 0) + 1
        return str(erlen.session["n"])

    client = app.test_client()
    assert client.get("/inc").text == "1"
    assert client.get("/inc").text == "2"
    assert store == {"only": {"n": 2}}


# The interface used directly


class _StubApp:
    """The parts of an app the cookie interface reads, to exercise it without requests."""

    def __init__(self, secret_key: str | None = "stub secret") -> None:
        self.secret_key = secret_key
        self.permanent_session_lifetime = timedelta(days=31)
        self.config: dict[str, t.Any] = {
            "SECRET_KEY_FALLBACKS": None,
            "SESSION_COOKIE_NAME": "session",
            "SESSION_COOKIE_DOMAIN": None,
            "SESSION_COOKIE_PATH": None,
            "APPLICATION_ROOT": "/",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SECURE": False,
            "SESSION_COOKIE_SAMESITE": None,
            "SESSION_COOKIE_PARTITIONED": False,
            "SESSION_REFRESH_EACH_REQUEST": True,
        }


class _StubRequest:
    def __init__(self, cookies: dict[str, str]) -> None:
        self.cookies = cookies


@pytest.mark.skipif(
    not _fastpaths.ENABLED, reason="checks the no_cookie_no_serializer fast path itself"
)
def test_open_session_without_cookie_builds_no_serializer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[bool] = []

    class CountingSerializer(URLSafeTimedSerializer):
        def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
            built.append(True)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(erlen_sessions, "URLSafeTimedSerializer", CountingSerializer)
    interface = SecureCookieSessionInterface()
    app = t.cast("Erlen", _StubApp())

    session = interface.open_session(app, t.cast(t.Any, _StubRequest({})))
    assert isinstance(session, SecureCookieSession)
    assert len(session) == 0
    assert not session.modified
    assert built == []

    interface.open_session(app, t.cast(t.Any, _StubRequest({"session": "garbage"})))
    assert built == [True]


def test_open_session_without_secret_key_returns_none() -> None:
    interface = SecureCookieSessionInterface()
    app = t.cast("Erlen", _StubApp(secret_key=None))
    assert interface.open_session(app, t.cast(t.Any, _StubRequest({}))) is None
    assert interface.open_session(app, t.cast(t.Any, _StubRequest({"session": "x"}))) is None


def test_overridden_serializer_can_refuse_sessions() -> None:
    class Refusing(SecureCookieSessionInterface):
        def get_signing_serializer(self, app: t.Any) -> None:
            return None

    app = t.cast("Erlen", _StubApp())
    assert Refusing().open_session(app, t.cast(t.Any, _StubRequest({}))) is None


def test_saving_does_not_count_as_accessing() -> None:
    interface = SecureCookieSessionInterface()
    app = t.cast("Erlen", _StubApp())
    session = SecureCookieSession({"a": 1, "_permanent": True})
    response = WerkzeugResponse()
    interface.save_session(app, session, t.cast(t.Any, response))
    assert not session.accessed
    # Permanent with refresh on: the cookie is re-sent even though nothing changed.
    assert "Set-Cookie" in response.headers


def test_saving_an_unread_session_adds_no_vary() -> None:
    interface = SecureCookieSessionInterface()
    app = t.cast("Erlen", _StubApp())
    session = SecureCookieSession({"a": 1})
    response = WerkzeugResponse()
    interface.save_session(app, session, t.cast(t.Any, response))
    assert not session.accessed
    assert "Vary" not in response.headers
    assert "Set-Cookie" not in response.headers


def test_signing_serializer_follows_key_changes() -> None:
    interface = SecureCookieSessionInterface()
    stub = _StubApp()
    app = t.cast("Erlen", stub)
    first = interface.get_signing_serializer(app)
    assert first is not None
    assert interface.get_signing_serializer(app) is first
    token = first.dumps({"a": 1})

    stub.secret_key = "rotated"
    rotated = interface.get_signing_serializer(app)
    assert rotated is not first
    assert rotated is not None
    with pytest.raises(BadSignature):
        rotated.loads(token)
    stub.config["SECRET_KEY_FALLBACKS"] = ["stub secret"]
    with_fallback = interface.get_signing_serializer(app)
    assert with_fallback is not None
    assert with_fallback.loads(token) == {"a": 1}
