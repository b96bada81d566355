"""The login manager behaves as a Flask-Login user expects."""

from __future__ import annotations

import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import UTC
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from werkzeug.http import parse_date
from werkzeug.test import TestResponse

import erlen
from erlen.ext.login import AnonymousUserMixin
from erlen.ext.login import confirm_login
from erlen.ext.login import current_user
from erlen.ext.login import get_login_manager
from erlen.ext.login import login_fresh
from erlen.ext.login import login_remembered
from erlen.ext.login import login_required
from erlen.ext.login import login_user
from erlen.ext.login import LoginManager
from erlen.ext.login import session_protected
from erlen.ext.login import user_loaded_from_cookie
from erlen.ext.login import user_logged_in
from erlen.ext.login import user_logged_out
from erlen.ext.login import user_unauthorized
from erlen.ext.login import UserMixin

if t.TYPE_CHECKING:
    from erlen.testing import FlaskClient


def body_of(response: TestResponse) -> t.Any:
    """The JSON body of a response that must have one."""
    body = response.json
    assert body is not None, response.data
    return body


def set_cookie_header(response: t.Any, name: str) -> str:
    """The Set-Cookie header for cookie ``name``."""
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, headers
    return t.cast(str, headers[0])


# -- who is logged in ---------------------------------------------------------------------


def test_nobody_is_logged_in_at_first(client: FlaskClient) -> None:
    assert client.get("/whoami").text == "anonymous"


def test_current_user_is_anonymous_user_instance(login_app: erlen.Erlen) -> None:
    with login_app.test_request_context():
        assert isinstance(current_user._get_current_object(), AnonymousUserMixin)
        assert current_user.is_anonymous and not current_user.is_authenticated


def test_current_user_is_none_outside_a_request() -> None:
    assert current_user._get_current_object() is None


def test_custom_anonymous_user_class(login_app: erlen.Erlen) -> None:
    class Guest(AnonymousUserMixin):
        name = "guest"

    get_login_manager(login_app).anonymous_user = Guest
    with login_app.test_request_context():
        assert current_user.name == "guest"


def test_login_keeps_the_user_for_later_requests(client: FlaskClient, login: t.Any) -> None:
    response = login(client)

    assert response.status_code == 302
    assert client.get("/whoami").text == "1"
    assert client.get("/private").text == "private page of 1"


def test_wrong_password_does_not_log_in(client: FlaskClient, login: t.Any) -> None:
    assert login(client, password="nope").status_code == 401
    assert login(client, email="nobody@example.com").status_code == 401
    assert client.get("/whoami").text == "anonymous"


def test_inactive_user_is_not_logged_in_unless_forced(
    login_app: erlen.Erlen, users: dict[str, t.Any]
) -> None:
    with login_app.test_request_context():
        assert login_user(users["3"]) is False
        assert not current_user.is_authenticated
        assert login_user(users["3"], force=True) is True
        assert current_user.get_id() == "3"


def test_current_user_is_set_in_the_request_that_logs_in(
    login_app: erlen.Erlen, users: dict[str, t.Any]
) -> None:
    with login_app.test_request_context():
        login_user(users["2"])
        assert current_user.get_id() == "2"
        assert login_fresh()


def test_templates_see_current_user(
    client: FlaskClient, login_app: erlen.Erlen, login: t.Any
) -> None:
    @login_app.get("/hello")
    def hello() -> str:
        return erlen.render_template_string("hello {{ current_user.get_id() or 'stranger' }}")

    assert client.get("/hello").text == "hello stranger"
    login(client)
    assert client.get("/hello").text == "hello 1"


def test_user_loader_returning_none_means_anonymous(
    client: FlaskClient, login: t.Any, users: dict[str, t.Any]
) -> None:
    login(client)
    del users["1"]

    assert client.get("/whoami").text == "anonymous"


def test_missing_user_loader_is_explained(app: erlen.Erlen) -> None:
    LoginManager(app)

    with app.test_request_context(), pytest.raises(RuntimeError, match="user_loader"):
        bool(current_user.is_authenticated)


def test_no_login_manager_is_explained(app: erlen.Erlen) -> None:
    with app.test_request_context(), pytest.raises(RuntimeError, match="init_app"):
        bool(current_user.is_authenticated)


def test_login_manager_is_found_where_flask_login_puts_it(login_app: erlen.Erlen) -> None:
    manager = get_login_manager(login_app)
    assert login_app.login_manager is manager  # type: ignore[attr-defined]
    assert login_app.extensions["login"] is manager


def test_duration_must_be_a_timedelta(login_app: erlen.Erlen, users: dict[str, t.Any]) -> None:
    with login_app.test_request_context(), pytest.raises(TypeError, match="timedelta"):
        login_user(users["1"], remember=True, duration=3600)  # type: ignore[arg-type]


# -- unauthorized -------------------------------------------------------------------------


def test_protected_page_redirects_browsers_to_the_login_view_with_next(
    client: FlaskClient,
) -> None:
    response = client.get("/private?tab=2")

    assert response.status_code == 302
    location = urlsplit(response.location)
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/private?tab=2"]}


def test_redirect_to_login_flashes_the_login_message(
    login_app: erlen.Erlen, client: FlaskClient
) -> None:
    client.get("/private")

    with client.session_transaction() as session:
        assert session["_flashes"] == [("message", "Please log in to access this page.")]


def test_login_follows_next_back_to_the_page(client: FlaskClient, login: t.Any) -> None:
    login_page = client.get("/private?tab=2").location

    response = login(client, query_string=parse_qs(urlsplit(login_page).query))

    assert response.location == "/private?tab=2"


def test_login_refuses_to_follow_next_to_another_site(client: FlaskClient, login: t.Any) -> None:
    response = login(client, query_string={"next": "https://evil.example/phish"})

    assert response.location == "/whoami"


def test_without_login_view_browsers_get_401(login_app: erlen.Erlen, client: FlaskClient) -> None:
    get_login_manager(login_app).login_view = None

    response = client.get("/private")

    assert response.status_code == 401
    assert response.mimetype == "text/html"


@pytest.mark.parametrize(
    "headers",
    [
        {"Accept": "application/json"},
        {"X-Requested-With": "XMLHttpRequest"},
        {"Authorization": "Bearer whatever"},
    ],
    ids=["accept-json", "xhr", "bearer"],
)
def test_api_clients_get_a_401_problem_with_a_challenge(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    response = client.get("/private", headers=headers)

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "You must log in to access this resource.",
        "instance": "/private",
    }
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_api_paths_get_a_401_problem_even_from_browsers(client: FlaskClient) -> None:
    response = client.get("/api/me", headers={"Accept": "text/html,*/*;q=0.8"})

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert body_of(response)["detail"] == "You must log in to access this resource."
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_blueprint_login_views_take_precedence(login_app: erlen.Erlen, client: FlaskClient) -> None:
    admin = erlen.Blueprint("admin", __name__, url_prefix="/admin")

    @admin.get("/login")
    def login() -> str:
        return "admin login"

    @admin.get("/panel")
    @login_required
    def panel() -> str:
        return "panel"

    login_app.register_blueprint(admin)
    get_login_manager(login_app).blueprint_login_views["admin"] = "admin.login"

    assert urlsplit(client.get("/admin/panel").location).path == "/admin/login"
    assert urlsplit(client.get("/private").location).path == "/login"


def test_unauthorized_handler_answers_instead(login_app: erlen.Erlen, client: FlaskClient) -> None:
    @get_login_manager(login_app).unauthorized_handler
    def no_entry() -> tuple[str, int]:
        return "members only", 403

    response = client.get("/private")

    assert (response.status_code, response.text) == (403, "members only")


def test_unauthorized_signal_is_sent(login_app: erlen.Erlen, client: FlaskClient) -> None:
    seen: list[object] = []
    with user_unauthorized.connected_to(lambda sender, **kw: seen.append(sender), login_app):
        client.get("/private")
    assert seen == [login_app]


def test_options_requests_pass_through(login_app: erlen.Erlen, client: FlaskClient) -> None:
    @login_app.route("/cors", methods=["GET", "OPTIONS"])
    @login_required
    def cors() -> str:
        return f"view ran for {erlen.request.method}"

    assert client.options("/cors").text == "view ran for OPTIONS"
    assert client.get("/cors").status_code == 302


def test_login_disabled_lets_everyone_through(login_app: erlen.Erlen, client: FlaskClient) -> None:
    login_app.config["LOGIN_DISABLED"] = True

    assert client.get("/private").text == "private page of None"


def test_login_required_works_on_async_views(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    pytest.importorskip("asgiref")

    @login_app.get("/async")
    @login_required
    async def async_view() -> str:
        return f"async {current_user.get_id()}"

    assert client.get("/async").status_code == 302
    login(client)
    assert client.get("/async").text == "async 1"


# -- remember me --------------------------------------------------------------------------


def test_remember_cookie_is_httponly_lax_and_lasts_the_configured_duration(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    login_app.config["REMEMBER_COOKIE_DURATION"] = timedelta(days=14)

    header = set_cookie_header(login(client, remember=True), "remember_token")

    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    expires = parse_date(header.split("Expires=")[1].split(";")[0])
    assert expires is not None
    assert abs(expires - (datetime.now(UTC) + timedelta(days=14))) < timedelta(minutes=1)


def test_remember_cookie_duration_may_be_seconds(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    login_app.config["REMEMBER_COOKIE_DURATION"] = 600

    header = set_cookie_header(login(client, remember=True), "remember_token")

    expires = parse_date(header.split("Expires=")[1].split(";")[0])
    assert expires is not None
    assert abs(expires - (datetime.now(UTC) + timedelta(seconds=600))) < timedelta(minutes=1)


def test_no_remember_cookie_without_remember(client: FlaskClient, login: t.Any) -> None:
    response = login(client)

    assert not any(h.startswith("remember_token=") for h in response.headers.getlist("Set-Cookie"))


def test_remember_cookie_restores_a_login_that_is_not_fresh(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    login(client, remember=True)
    browser_restarted = login_app.test_client()
    browser_restarted.set_cookie("remember_token", client.get_cookie("remember_token").value)  # type: ignore[union-attr]
    loaded: list[object] = []

    with user_loaded_from_cookie.connected_to(lambda s, user: loaded.append(user), login_app):
        assert browser_restarted.get("/whoami").text == "1"

    assert [u.get_id() for u in loaded] == ["1"]  # type: ignore[attr-defined]
    assert body_of(browser_restarted.get("/session"))["_fresh"] is False


def test_tampered_remember_cookie_is_ignored_and_deleted(login_app: erlen.Erlen) -> None:
    client = login_app.test_client()
    client.set_cookie("remember_token", "eyJ1IjoiMSJ9.forged")

    response = client.get("/whoami")

    assert response.text == "anonymous"
    assert client.get_cookie("remember_token") is None


def test_remember_cookie_past_its_duration_is_refused(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any, users: dict[str, t.Any]
) -> None:
    with login_app.test_request_context():
        login_user(users["1"], remember=True, duration=timedelta(seconds=-1))
        response = login_app.process_response(login_app.response_class("ok"))
    header = set_cookie_header(response, "remember_token")
    stale = header.split(";")[0].split("=", 1)[1]
    client.set_cookie("remember_token", stale)

    assert client.get("/whoami").text == "anonymous"


def test_login_remembered_tells_whether_the_cookie_is_this_logins(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    @login_app.get("/remembered")
    def remembered() -> str:
        return str(login_remembered())

    login(client)
    assert client.get("/remembered").text == "False"
    login(client, remember=True)
    assert client.get("/remembered").text == "True"


def test_remember_cookie_refreshes_each_request_when_configured(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    login_app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = True
    login(client, remember=True)

    response = client.get("/whoami")

    assert set_cookie_header(response, "remember_token")


# -- freshness ----------------------------------------------------------------------------


def test_fresh_login_required_accepts_a_fresh_login(client: FlaskClient, login: t.Any) -> None:
    login(client)
    assert client.get("/settings").text == "settings"


def test_fresh_login_required_sends_remembered_users_to_the_refresh_view(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    get_login_manager(login_app).refresh_view = "login"
    login(client, remember=True)
    restored = login_app.test_client()
    restored.set_cookie("remember_token", client.get_cookie("remember_token").value)  # type: ignore[union-attr]

    response = restored.get("/settings")

    assert response.status_code == 302
    assert parse_qs(urlsplit(response.location).query) == {"next": ["/settings"]}


def test_fresh_login_required_without_refresh_view_is_401(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    login(client, remember=True)
    restored = login_app.test_client()
    restored.set_cookie("remember_token", client.get_cookie("remember_token").value)  # type: ignore[union-attr]

    assert restored.get("/settings").status_code == 401


def test_confirm_login_makes_the_login_fresh(
    login_app: erlen.Erlen, users: dict[str, t.Any]
) -> None:
    with login_app.test_request_context():
        login_user(users["1"], fresh=False)
        assert not login_fresh()
        confirm_login()
        assert login_fresh()


# -- signals and session protection -------------------------------------------------------


def test_login_and_logout_signals_carry_the_user(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    events: list[tuple[str, str]] = []
    with (
        user_logged_in.connected_to(
            lambda s, user: events.append(("in", user.get_id())), login_app
        ),
        user_logged_out.connected_to(
            lambda s, user: events.append(("out", user.get_id())), login_app
        ),
    ):
        login(client)
        client.post("/logout")

    assert events == [("in", "1"), ("out", "1")]


def test_strong_session_protection_logs_out_a_session_used_by_another_browser(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    get_login_manager(login_app).session_protection = "strong"
    login(client, headers={"User-Agent": "Firefox"})
    assert client.get("/whoami", headers={"User-Agent": "Firefox"}).text == "1"

    with session_protected.connected_to(lambda s: None, login_app):
        assert client.get("/whoami", headers={"User-Agent": "curl"}).text == "anonymous"


def test_basic_session_protection_only_makes_the_login_stale(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    login(client, headers={"User-Agent": "Firefox"})

    assert client.get("/whoami", headers={"User-Agent": "curl"}).text == "1"
    assert body_of(client.get("/session"))["_fresh"] is False


def test_session_protection_can_be_turned_off(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    login_app.config["SESSION_PROTECTION"] = None
    login(client, headers={"User-Agent": "Firefox"})

    client.get("/whoami", headers={"User-Agent": "curl"})

    assert body_of(client.get("/session"))["_fresh"] is True


# -- mixins -------------------------------------------------------------------------------


def test_user_mixin_defaults() -> None:
    class Person(UserMixin):
        def __init__(self, id: int) -> None:
            self.id = id

    ada = Person(1)
    assert (ada.is_authenticated, ada.is_active, ada.is_anonymous) == (True, True, False)
    assert ada.get_id() == "1"
    assert ada.get_session_epoch() == 0
    assert ada == Person(1) and ada != Person(2)
    assert hash(ada)


def test_user_mixin_without_id_explains() -> None:
    with pytest.raises(NotImplementedError, match="override `get_id`"):
        UserMixin().get_id()


def test_remember_cookie_refresh_works_for_views_that_never_touch_the_session(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    @login_app.get("/static-ish")
    def plain() -> str:
        return "plain"

    login_app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = True
    login(client, remember=True)

    assert set_cookie_header(client.get("/static-ish"), "remember_token")
