"""Flask-Login's API where erlen once differed: names, submodules and behaviours that code
written for Flask-Login relies on.
"""

from __future__ import annotations

import importlib

import pytest

import erlen
from erlen import Blueprint
from erlen import session
from erlen.ext.login import current_user
from erlen.ext.login import decode_cookie
from erlen.ext.login import encode_cookie
from erlen.ext.login import FlaskLoginClient
from erlen.ext.login import login_remembered
from erlen.ext.login import login_required
from erlen.ext.login import login_user
from erlen.ext.login import LoginManager
from erlen.ext.login import set_login_view
from erlen.ext.login import UserMixin


class Person(UserMixin):
    def __init__(self, id: int, name: str) -> None:
        self.id = id
        self.name = name


PEOPLE = {"1": Person(1, "Ada"), "2": Person(2, "Grace")}


@pytest.mark.parametrize(
    "module",
    ["login_manager", "utils", "mixins", "config", "signals", "test_client", "__about__"],
)
def test_flask_login_submodules_exist(module: str) -> None:
    importlib.import_module(f"erlen.ext.login.{module}")


def test_cookie_helpers_sign_with_the_secret_key(app: erlen.Erlen) -> None:
    with app.app_context():
        cookie = encode_cookie("1")
        assert cookie.startswith("1|")
        assert decode_cookie(cookie) == "1"
        assert decode_cookie("1|forged") is None
        assert decode_cookie("no separator") is None
    assert decode_cookie(encode_cookie("2", key="k"), key="k") == "2"
    assert decode_cookie(encode_cookie("2", key="k"), key="other") is None


def test_a_request_loader_alone_keeps_a_session_login(app: erlen.Erlen) -> None:
    manager = LoginManager(app)

    @manager.request_loader
    def from_request(request: erlen.Request) -> Person | None:
        return PEOPLE.get(request.args.get("as") or session.get("_user_id", ""))

    @app.get("/login")
    def login() -> str:
        return str(login_user(PEOPLE["1"]))

    @app.get("/me")
    def me() -> str:
        return str(current_user.name) if current_user.is_authenticated else "anonymous"

    client = app.test_client()
    assert client.get("/me").text == "anonymous"
    client.get("/login")
    assert client.get("/me").text == "Ada"
    assert client.get("/me?as=2").text == "Grace"


def test_login_remembered_restores_the_login_itself(app: erlen.Erlen) -> None:
    manager = LoginManager(app)
    manager.user_loader(PEOPLE.get)

    @app.get("/login")
    def login() -> str:
        return str(login_user(PEOPLE["1"], remember=True))

    @app.get("/remembered")
    def remembered() -> str:
        return str(login_remembered())

    client = app.test_client()
    client.get("/login")
    client.delete_cookie("session")
    # current_user is never read by the view: the check loads the login from the cookie.
    assert client.get("/remembered").text == "True"


def test_set_login_view_per_blueprint(app: erlen.Erlen) -> None:
    manager = LoginManager(app)
    manager.user_loader(PEOPLE.get)
    admin = Blueprint("admin", __name__)

    @admin.get("/page")
    @login_required
    def admin_page() -> str:
        return "admin"

    @app.get("/page")
    @login_required
    def page() -> str:
        return "page"

    app.register_blueprint(admin, url_prefix="/admin")
    app.add_url_rule("/login", "login", lambda: "login")
    app.add_url_rule("/admin/login", "admin_login", lambda: "admin login")
    with app.app_context():
        set_login_view("login")
        set_login_view("admin_login", blueprint=admin)

    client = app.test_client()
    assert client.get("/page").location == "/login?next=%2Fpage"
    assert client.get("/admin/page").location == "/admin/login?next=%2Fadmin%2Fpage"


def test_flask_login_client_starts_logged_in(app: erlen.Erlen) -> None:
    manager = LoginManager(app)
    manager.user_loader(PEOPLE.get)

    @app.get("/me")
    @login_required
    def me() -> str:
        return str(current_user.name)

    app.test_client_class = FlaskLoginClient
    assert app.test_client(user=PEOPLE["2"]).get("/me").text == "Grace"
