"""Safe redirects after login, and telling API clients from browsers."""

from __future__ import annotations

import pytest

import erlen
from erlen import session
from erlen.ext.login import is_api_request
from erlen.ext.login import login_required
from erlen.ext.login import login_url
from erlen.ext.login import LoginManager
from erlen.ext.login import safe_next_url
from erlen.ext.login.utils import is_safe_next_url


@pytest.mark.parametrize(
    "target",
    ["/", "/account", "/account?tab=2#x", "/a/b/c?next=//evil.example", "/%2F%2Fevil.example"],
)
def test_same_site_paths_are_safe(target: str) -> None:
    assert is_safe_next_url(target) is True


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "https://evil.example/",
        "http://evil.example",
        "//evil.example/path",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        " /account",
        "javascript:alert(1)",
        "account",
        "data:text/html,hi",
    ],
)
def test_anything_else_is_not(target: str | None) -> None:
    assert is_safe_next_url(target) is False


def test_safe_next_url_reads_next_from_the_request(app: erlen.Erlen) -> None:
    with app.test_request_context("/login?next=/account"):
        assert safe_next_url() == "/account"
    with app.test_request_context("/login?next=https://evil.example/"):
        assert safe_next_url() == "/"
    with app.test_request_context("/login", method="POST", data={"next": "//evil.example"}):
        assert safe_next_url(default="/home") == "/home"


def test_use_session_for_next_keeps_the_page_in_session_next(app: erlen.Erlen) -> None:
    app.config["USE_SESSION_FOR_NEXT"] = True
    manager = LoginManager(app)
    manager.login_view = "login"
    manager.user_loader(lambda user_id: None)

    @app.get("/login")
    def login() -> str:
        return f"{session.get('next')} {safe_next_url()} {safe_next_url()}"

    @app.get("/private")
    @login_required
    def private() -> str:
        return "secret"

    client = app.test_client()
    response = client.get("/private?x=1")
    assert response.status_code == 302
    assert response.location == "/login"
    # Flask-Login's documented key; read once, then forgotten.
    assert client.get("/login").text == "/private?x=1 /private?x=1 /"


def test_force_host_for_redirects_sets_the_login_urls_host(app: erlen.Erlen) -> None:
    app.config["FORCE_HOST_FOR_REDIRECTS"] = "good.example"
    with app.test_request_context(base_url="http://bad.example"):
        url = login_url("/login", next_url="http://bad.example/private")
    assert url == "//good.example/login?next=%2Fprivate"


def test_login_url_keeps_the_login_pages_own_query(app: erlen.Erlen) -> None:
    with app.test_request_context():
        url = login_url("/login?lang=de", next_url="http://localhost/private")
    assert url == "/login?lang=de&next=%2Fprivate"


def test_login_url_keeps_next_absolute_for_another_host(app: erlen.Erlen) -> None:
    with app.test_request_context():
        url = login_url("https://sso.example/login", next_url="http://localhost/private")
    assert url == "https://sso.example/login?next=http%3A%2F%2Flocalhost%2Fprivate"


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        ("/page", {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, False),
        ("/page", {}, False),
        ("/page", {"Accept": "*/*"}, False),
        ("/page", {"Accept": "application/json"}, True),
        ("/page", {"Accept": "application/problem+json"}, True),
        ("/page", {"Accept": "*/*", "Content-Type": "application/json"}, True),
        ("/page", {"X-Requested-With": "XMLHttpRequest"}, True),
        ("/page", {"Authorization": "Bearer x"}, True),
        ("/page", {"Authorization": "Basic x"}, False),
        ("/api/items", {"Accept": "text/html"}, True),
        ("/api", {}, True),
        ("/apiary", {}, False),
    ],
)
def test_api_requests_are_told_from_browser_requests(
    app: erlen.Erlen, path: str, headers: dict[str, str], expected: bool
) -> None:
    with app.test_request_context(path, headers=headers) as ctx:
        assert is_api_request(ctx.request.environ) is expected
