"""CSRF protection: state-changing requests need the session's token."""

from __future__ import annotations

import re
import time
import typing as t

import itsdangerous.timed
import pytest

import erlen
from erlen.ext.csrf import csrf_token
from erlen.ext.csrf import CSRFError
from erlen.ext.csrf import CSRFProtect
from erlen.ext.csrf import generate_csrf
from erlen.ext.csrf import validate_csrf

if t.TYPE_CHECKING:
    from erlen.testing import FlaskClient


@pytest.fixture
def csrf() -> CSRFProtect:
    return CSRFProtect()


@pytest.fixture
def csrf_app(app: erlen.Erlen, csrf: CSRFProtect) -> erlen.Erlen:
    """An app with a form page, a form handler, and routes for every method."""
    csrf.init_app(app)

    @app.get("/form")
    def form() -> str:
        return erlen.render_template_string(
            '<form method="post"><input name="csrf_token" value="{{ csrf_token() }}"></form>'
        )

    @app.get("/token")
    def token() -> str:
        return csrf_token()

    @app.route("/submit", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def submit() -> str:
        return f"accepted {erlen.request.method}"

    return app


@pytest.fixture
def client(csrf_app: erlen.Erlen) -> FlaskClient:
    return csrf_app.test_client()


def fetch_token(client: FlaskClient) -> str:
    return client.get("/token").text


# -- the check ----------------------------------------------------------------------------


def test_post_without_token_is_refused_with_400(client: FlaskClient) -> None:
    response = client.post("/submit", data={"name": "x"})

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "The CSRF token is missing." in response.text


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_every_state_changing_method_is_checked(client: FlaskClient, method: str) -> None:
    response = client.open("/submit", method=method)

    assert response.status_code == 400


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_are_not_checked(client: FlaskClient, method: str) -> None:
    assert client.open("/submit", method=method).status_code == 200


def test_post_with_the_form_field_is_accepted(client: FlaskClient) -> None:
    token = fetch_token(client)

    response = client.post("/submit", data={"csrf_token": token})

    assert response.text == "accepted POST"


def test_token_rendered_in_a_template_form_is_accepted(client: FlaskClient) -> None:
    page = client.get("/form").text
    match = re.search(r'value="([^"]+)"', page)
    assert match is not None

    assert client.post("/submit", data={"csrf_token": match[1]}).status_code == 200


def test_prefixed_form_fields_are_accepted(client: FlaskClient) -> None:
    token = fetch_token(client)

    assert client.post("/submit", data={"signup-csrf_token": token}).status_code == 200


@pytest.mark.parametrize("header", ["X-CSRFToken", "X-CSRF-Token"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_token_in_a_header_is_accepted(client: FlaskClient, header: str, method: str) -> None:
    token = fetch_token(client)

    response = client.open("/submit", method=method, headers={header: token})

    assert response.text == f"accepted {method}"


def test_token_stays_valid_for_later_requests(client: FlaskClient) -> None:
    token = fetch_token(client)

    assert client.post("/submit", data={"csrf_token": token}).status_code == 200
    assert client.post("/submit", data={"csrf_token": token}).status_code == 200


def test_garbage_token_is_invalid(client: FlaskClient) -> None:
    fetch_token(client)

    response = client.post("/submit", data={"csrf_token": "not-a-token"})

    assert response.status_code == 400
    assert "The CSRF token is invalid." in response.text


def test_token_from_another_session_is_refused(csrf_app: erlen.Erlen) -> None:
    attacker, victim = csrf_app.test_client(), csrf_app.test_client()
    attackers_token = fetch_token(attacker)
    fetch_token(victim)

    response = victim.post("/submit", data={"csrf_token": attackers_token})

    assert response.status_code == 400
    assert "The CSRF tokens do not match." in response.text


def test_token_without_a_session_secret_is_refused(csrf_app: erlen.Erlen) -> None:
    token = fetch_token(csrf_app.test_client())

    response = csrf_app.test_client().post("/submit", data={"csrf_token": token})

    assert response.status_code == 400
    assert "The CSRF session token is missing." in response.text


def test_expired_token_is_refused(
    csrf_app: erlen.Erlen, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    csrf_app.config["CSRF_TIME_LIMIT"] = 60
    token = fetch_token(client)

    class Later:
        @staticmethod
        def time() -> float:
            return time.time() + 61

    monkeypatch.setattr(itsdangerous.timed, "time", Later)
    response = client.post("/submit", data={"csrf_token": token})

    assert response.status_code == 400
    assert "The CSRF token has expired." in response.text


def test_without_time_limit_tokens_do_not_expire(
    csrf_app: erlen.Erlen, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    csrf_app.config["CSRF_TIME_LIMIT"] = None
    token = fetch_token(client)

    class MuchLater:
        @staticmethod
        def time() -> float:
            return time.time() + 10 * 24 * 3600

    monkeypatch.setattr(itsdangerous.timed, "time", MuchLater)

    assert client.post("/submit", data={"csrf_token": token}).status_code == 200


def test_unknown_url_stays_404(client: FlaskClient) -> None:
    assert client.post("/nowhere").status_code == 404


# -- API clients and error handlers -------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{"Accept": "application/json"}, {"X-Requested-With": "XMLHttpRequest"}],
    ids=["accept-json", "xhr"],
)
def test_api_clients_get_problem_json(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.post("/submit", headers=headers)

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "The CSRF token is missing.",
        "instance": "/submit",
    }


def test_json_body_from_fetch_gets_problem_json(client: FlaskClient) -> None:
    response = client.post("/submit", json={"a": 1}, headers={"Accept": "*/*"})

    assert response.mimetype == "application/problem+json"
    assert response.json is not None
    assert response.json["detail"] == "The CSRF token is missing."


def test_apps_can_handle_csrf_errors_themselves(csrf_app: erlen.Erlen, client: FlaskClient) -> None:
    @csrf_app.errorhandler(CSRFError)
    def on_csrf_error(e: CSRFError) -> tuple[str, int]:
        return f"please retry: {e.description}", 400

    response = client.post("/submit")

    assert response.text == "please retry: The CSRF token is missing."


def test_csrf_error_is_a_bad_request(csrf_app: erlen.Erlen, client: FlaskClient) -> None:
    @csrf_app.errorhandler(400)
    def on_bad_request(e: Exception) -> tuple[str, int]:
        return f"bad request: {type(e).__name__}", 400

    assert client.post("/submit").text == "bad request: CSRFError"


def test_html_error_page_escapes_the_reason() -> None:
    body = CSRFError("<script>").get_body({})

    assert "<script>" not in body and "&lt;script&gt;" in body


# -- exemptions and configuration ---------------------------------------------------------


def test_exempt_view_accepts_posts_without_token(
    csrf_app: erlen.Erlen, csrf: CSRFProtect, client: FlaskClient
) -> None:
    @csrf_app.post("/webhook")
    @csrf.exempt
    def webhook() -> str:
        return "hooked"

    assert client.post("/webhook").text == "hooked"
    assert client.post("/submit").status_code == 400


def test_exempt_if_skips_the_check_for_the_requests_it_picks(
    csrf_app: erlen.Erlen, csrf: CSRFProtect, client: FlaskClient
) -> None:
    @csrf.exempt_if
    def signed_by_a_machine(request: erlen.Request) -> bool:
        return request.headers.get("Authorization") == "Bearer good"

    assert client.post("/submit", headers={"Authorization": "Bearer good"}).status_code == 200
    assert client.post("/submit", headers={"Authorization": "Bearer bad"}).status_code == 400
    assert client.post("/submit").status_code == 400


def test_exempt_view_by_dotted_name(
    csrf_app: erlen.Erlen, csrf: CSRFProtect, client: FlaskClient
) -> None:
    @csrf_app.post("/hook")
    def hook() -> str:
        return "hooked"

    csrf.exempt(f"{__name__}.hook")

    assert client.post("/hook").text == "hooked"


def test_exempt_blueprint_accepts_posts_without_token(
    csrf_app: erlen.Erlen, csrf: CSRFProtect, client: FlaskClient
) -> None:
    api = erlen.Blueprint("api", __name__, url_prefix="/api")

    @api.post("/items")
    def create_item() -> tuple[dict[str, str], int]:
        return {"created": "item"}, 201

    csrf.exempt(api)
    csrf_app.register_blueprint(api)

    assert client.post("/api/items", json={}).status_code == 201
    assert client.post("/submit").status_code == 400


def test_blueprint_nested_in_an_exempt_one_is_exempt(
    csrf_app: erlen.Erlen, csrf: CSRFProtect, client: FlaskClient
) -> None:
    api = erlen.Blueprint("api", __name__, url_prefix="/api")
    v1 = erlen.Blueprint("v1", __name__, url_prefix="/v1")

    @v1.post("/items")
    def create_item() -> str:
        return "created"

    api.register_blueprint(v1)
    csrf.exempt(api)
    csrf_app.register_blueprint(api)

    assert client.post("/api/v1/items").text == "created"


def test_exempt_blueprint_registered_under_another_name(
    csrf_app: erlen.Erlen, csrf: CSRFProtect, client: FlaskClient
) -> None:
    api = erlen.Blueprint("api", __name__)

    @api.post("/items")
    def create_item() -> str:
        return "created"

    csrf.exempt(api)
    csrf_app.register_blueprint(api, name="public_api", url_prefix="/public")

    assert client.post("/public/items").text == "created"


def test_disabled_csrf_checks_nothing(csrf_app: erlen.Erlen, client: FlaskClient) -> None:
    csrf_app.config["CSRF_ENABLED"] = False

    assert client.post("/submit").status_code == 200


def test_flask_wtf_setting_names_are_honoured(csrf: CSRFProtect) -> None:
    app = erlen.Erlen("wtf")
    app.config.update(SECRET_KEY="k", WTF_CSRF_ENABLED=False, WTF_CSRF_TIME_LIMIT=60)
    csrf.init_app(app)

    @app.post("/submit")
    def submit() -> str:
        return "ok"

    assert app.config["CSRF_TIME_LIMIT"] == 60
    assert app.test_client().post("/submit").status_code == 200


def test_check_default_off_checks_only_where_protect_is_called(
    csrf_app: erlen.Erlen, csrf: CSRFProtect, client: FlaskClient
) -> None:
    csrf_app.config["CSRF_CHECK_DEFAULT"] = False

    @csrf_app.post("/guarded")
    def guarded() -> str:
        csrf.protect()
        return "guarded"

    assert client.post("/submit").status_code == 200
    assert client.post("/guarded").status_code == 400
    assert client.post("/guarded", data={"csrf_token": fetch_token(client)}).text == "guarded"


def test_csrf_input_renders_a_hidden_field(csrf_app: erlen.Erlen, client: FlaskClient) -> None:
    @csrf_app.get("/field")
    def field() -> str:
        return erlen.render_template_string("{{ csrf_input() }}")

    html = client.get("/field").text
    match = re.fullmatch(r'<input type="hidden" name="csrf_token" value="([^"]+)">', html)
    assert match is not None
    assert client.post("/submit", data={"csrf_token": match[1]}).status_code == 200


def test_token_is_stable_within_a_request(csrf_app: erlen.Erlen) -> None:
    with csrf_app.test_request_context():
        assert generate_csrf() == csrf_token()


def test_validate_csrf_can_be_called_directly(csrf_app: erlen.Erlen) -> None:
    with csrf_app.test_request_context():
        token = generate_csrf()
        validate_csrf(token)
        with pytest.raises(CSRFError, match="missing"):
            validate_csrf(None)


def test_csrf_tokens_need_a_secret_key(csrf: CSRFProtect) -> None:
    app = erlen.Erlen("keyless")
    csrf.init_app(app)
    with app.test_request_context(), pytest.raises(RuntimeError):
        generate_csrf()


# -- HTTPS referrer check -----------------------------------------------------------------


def https_post(client: FlaskClient, token: str, referrer: str | None) -> t.Any:
    headers = {"Referer": referrer} if referrer else {}
    return client.post(
        "/submit",
        base_url="https://shop.example",
        data={"csrf_token": token},
        headers=headers,
    )


def test_https_post_needs_a_referrer(client: FlaskClient) -> None:
    token = client.get("/token", base_url="https://shop.example").text

    response = https_post(client, token, None)

    assert response.status_code == 400
    assert "The referrer header is missing." in response.text


def test_https_post_from_another_origin_is_refused(client: FlaskClient) -> None:
    token = client.get("/token", base_url="https://shop.example").text

    for referrer in [
        "https://evil.example/form",
        "http://shop.example/form",
        "https://shop.example:8443/",
    ]:
        response = https_post(client, token, referrer)
        assert response.status_code == 400, referrer
        assert "The referrer does not match the host." in response.text


def test_https_post_from_the_same_origin_is_accepted(client: FlaskClient) -> None:
    token = client.get("/token", base_url="https://shop.example").text

    assert https_post(client, token, "https://shop.example/form?x=1").status_code == 200


def test_trusted_origins_pass_the_referrer_check(
    csrf_app: erlen.Erlen, client: FlaskClient
) -> None:
    csrf_app.config["CSRF_TRUSTED_ORIGINS"] = ["https://admin.shop.example"]
    token = client.get("/token", base_url="https://shop.example").text

    assert https_post(client, token, "https://admin.shop.example/x").status_code == 200


def test_referrer_check_can_be_turned_off(csrf_app: erlen.Erlen, client: FlaskClient) -> None:
    csrf_app.config["CSRF_SSL_STRICT"] = False
    token = client.get("/token", base_url="https://shop.example").text

    assert https_post(client, token, None).status_code == 200


# -- with the login extension -------------------------------------------------------------


def test_token_rendered_after_login_in_the_same_request_is_valid(
    csrf_app: erlen.Erlen, client: FlaskClient
) -> None:
    from erlen.ext import login

    class User(login.UserMixin):
        id = "1"

    manager = login.LoginManager(csrf_app)
    manager.user_loader(lambda user_id: User())

    @csrf_app.post("/login")
    def do_login() -> str:
        csrf_token()  # e.g. a base template rendered before the view logged in
        login.login_user(User())
        return csrf_token()

    token_after_login = client.post("/login", data={"csrf_token": fetch_token(client)}).text

    assert client.post("/submit", data={"csrf_token": token_after_login}).status_code == 200
