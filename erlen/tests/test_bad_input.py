"""Bad input from clients gets a clear 4xx, never a 500, and never leaks parser internals.

Every test here plays a client sending something wrong: broken JSON, the wrong content type,
bodies over the configured limits, wrong methods, untrusted hosts, mangled headers.
"""

from __future__ import annotations

import io
import typing as t

import pytest

from erlen import Erlen
from erlen import request
from erlen import url_for
from erlen.testing import FlaskClient
from erlen.wrappers import Request


@pytest.fixture
def app(app: Erlen) -> Erlen:
    """The shared app with views that read the body in each of the usual ways."""
    # Bad input must be answered, not raised, so let errors become responses.
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.post("/json")
    def read_json() -> t.Any:
        return {"received": request.get_json()}

    @app.post("/form")
    def read_form() -> t.Any:
        return {
            "form": request.form.to_dict(),
            "files": {name: f.filename for name, f in request.files.items()},
        }

    @app.post("/data")
    def read_data() -> str:
        return str(len(request.get_data()))

    @app.post("/ignore")
    def ignore_body() -> str:
        return "body not read"

    @app.route("/echo", methods=["GET", "POST"])
    def echo() -> t.Any:
        return {
            "args": request.args.to_dict(),
            "cookies": request.cookies.to_dict(),
            "path": request.path,
        }

    @app.get("/headers")
    def parsed_headers() -> t.Any:
        return {
            "authorization": repr(request.authorization),
            "if_modified_since": repr(request.if_modified_since),
            "range": repr(request.range),
            "accept": repr(request.accept_mimetypes.best),
            "date": repr(request.date),
            "content_length": repr(request.content_length),
            "if_none_match": repr(request.if_none_match),
        }

    return app


# -- JSON ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{bad",
        b"{'single': 'quotes'}",
        b"[1, 2,]",
        b"",
        b"\xff\xfe\x00garbage",
        b'{"a": 1} trailing',
    ],
)
def test_malformed_json_is_400_with_a_plain_message(client: FlaskClient, body: bytes) -> None:
    response = client.post("/json", data=body, content_type="application/json")
    assert response.status_code == 400
    assert b"The request body is not valid JSON." in response.data
    # Nothing from the parser: no exception names, positions or snippets of the body.
    for leak in (b"Expecting", b"JSONDecodeError", b"line 1", b"char ", b"column"):
        assert leak not in response.data


def test_malformed_json_explains_the_parser_error_in_debug(app: Erlen, client: FlaskClient) -> None:
    app.debug = True
    response = client.post("/json", data=b"{bad", content_type="application/json")
    assert response.status_code == 400
    assert b"Failed to decode JSON object" in response.data
    assert b"Expecting property name" in response.data


def test_malformed_json_can_be_handled_by_a_400_handler(app: Erlen, client: FlaskClient) -> None:
    app.register_error_handler(400, lambda e: ({"error": e.description}, 400))
    response = client.post("/json", data=b"{bad", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"error": "The request body is not valid JSON."}


def test_deeply_nested_json_is_400_not_500(client: FlaskClient) -> None:
    # A small body can nest deeply enough to exhaust the parser's recursion limit.
    body = b"[" * 100_000 + b"]" * 100_000
    response = client.post("/json", data=body, content_type="application/json")
    assert response.status_code == 400


def test_valid_json_still_parses(client: FlaskClient) -> None:
    response = client.post("/json", json={"a": [1, 2, {"b": None}]})
    assert response.status_code == 200
    assert response.get_json() == {"received": {"a": [1, 2, {"b": None}]}}


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"],
)
def test_json_with_the_wrong_content_type_is_415(
    client: FlaskClient, content_type: str | None
) -> None:
    response = client.post("/json", data=b'{"a": 1}', content_type=content_type)
    assert response.status_code == 415
    assert b"Content-Type was not &#39;application/json&#39;" in response.data


@pytest.mark.parametrize("content_type", ["application/vnd.api+json", "application/json"])
def test_json_content_types_are_accepted(client: FlaskClient, content_type: str) -> None:
    response = client.post("/json", data=b'{"a": 1}', content_type=content_type)
    assert response.status_code == 200


def test_silent_and_forced_json(app: Erlen, client: FlaskClient) -> None:
    @app.post("/lenient")
    def lenient() -> t.Any:
        return {
            "silent": request.get_json(silent=True),
            "forced": request.get_json(force=True, silent=True),
        }

    response = client.post("/lenient", data=b'{"a": 1}', content_type="text/plain")
    assert response.get_json() == {"silent": None, "forced": {"a": 1}}
    response = client.post("/lenient", data=b"{bad", content_type="application/json")
    assert response.get_json() == {"silent": None, "forced": None}


# -- size limits -----------------------------------------------------------------------------


def test_body_over_max_content_length_is_413(app: Erlen, client: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 100
    assert client.post("/data", data=b"x" * 100).data == b"100"
    for path in ("/data", "/form", "/json"):
        response = client.post(path, data=b"x" * 101, content_type="application/json")
        assert response.status_code == 413, path


def test_form_over_max_content_length_is_413(app: Erlen, client: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 100
    assert client.post("/form", data={"a": "x" * 200}).status_code == 413
    assert client.post("/form", data={"f": (io.BytesIO(b"x" * 200), "f.txt")}).status_code == 413


def test_body_without_content_length_is_limited_too(app: Erlen, client: FlaskClient) -> None:
    # A chunked upload declares no length; reading must still stop at the limit.
    app.config["MAX_CONTENT_LENGTH"] = 100
    response = client.post(
        "/data",
        input_stream=io.BytesIO(b"x" * 1000),
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413


def test_oversized_body_is_fine_when_the_view_does_not_read_it(
    app: Erlen, client: FlaskClient
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10
    assert client.post("/ignore", data=b"x" * 1000).data == b"body not read"


def test_request_class_limit_overrides_the_config(app: Erlen, client: FlaskClient) -> None:
    class Strict(Request):
        max_content_length = 5

    app.config["MAX_CONTENT_LENGTH"] = 1000
    app.request_class = Strict
    assert client.post("/data", data=b"x" * 6).status_code == 413


def test_limit_set_on_the_request_in_a_before_request_hook(app: Erlen, client: FlaskClient) -> None:
    @app.before_request
    def tighten() -> None:
        if request.path == "/data":
            request.max_content_length = 5

    assert client.post("/data", data=b"x" * 6).status_code == 413
    assert client.post("/form", data={"a": "x" * 6}).status_code == 200


def test_multipart_field_over_max_form_memory_size_is_413(app: Erlen, client: FlaskClient) -> None:
    # werkzeug counts what it buffers (part headers included), so leave some room.
    app.config["MAX_FORM_MEMORY_SIZE"] = 1_000
    ok = client.post("/form", data={"a": "x" * 10}, content_type="multipart/form-data")
    assert ok.status_code == 200
    too_big = client.post("/form", data={"a": "x" * 5_000}, content_type="multipart/form-data")
    assert too_big.status_code == 413


def test_urlencoded_form_is_bounded_by_max_content_length(app: Erlen, client: FlaskClient) -> None:
    # werkzeug reads a urlencoded body in one go, so only MAX_CONTENT_LENGTH applies to it.
    app.config.update(MAX_FORM_MEMORY_SIZE=None, MAX_CONTENT_LENGTH=50)
    assert client.post("/form", data={"a": "x" * 100}).status_code == 413


def test_too_many_multipart_parts_is_413(app: Erlen, client: FlaskClient) -> None:
    app.config["MAX_FORM_PARTS"] = 3
    fields = {f"field{n}": "v" for n in range(3)}
    assert client.post("/form", data=fields, content_type="multipart/form-data").status_code == 200
    fields = {f"field{n}": "v" for n in range(10)}
    response = client.post("/form", data=fields, content_type="multipart/form-data")
    assert response.status_code == 413


def test_default_form_limits_are_flasks(app: Erlen) -> None:
    with app.test_request_context():
        assert request.max_content_length is None
        assert request.max_form_memory_size == 500_000
        assert request.max_form_parts == 1_000


def test_config_limits_reach_the_request(app: Erlen) -> None:
    app.config.update(MAX_CONTENT_LENGTH=1, MAX_FORM_MEMORY_SIZE=2, MAX_FORM_PARTS=3)
    with app.test_request_context():
        assert request.max_content_length == 1
        assert request.max_form_memory_size == 2
        assert request.max_form_parts == 3


def test_413_can_be_handled(app: Erlen, client: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10
    app.register_error_handler(413, lambda e: ({"error": "too large"}, 413))
    response = client.post("/data", data=b"x" * 100)
    assert response.status_code == 413
    assert response.get_json() == {"error": "too large"}


# -- methods ---------------------------------------------------------------------------------


def test_wrong_method_is_405_listing_the_allowed_ones(client: FlaskClient) -> None:
    response = client.get("/json")
    assert response.status_code == 405
    assert set(response.allow) == {"POST", "OPTIONS"}


def test_unknown_method_is_405(client: FlaskClient) -> None:
    response = client.open("/echo", method="BREW")
    assert response.status_code == 405
    assert set(response.allow) == {"GET", "HEAD", "POST", "OPTIONS"}


def test_405_handler_keeps_allow_when_it_returns_the_exception(
    app: Erlen, client: FlaskClient
) -> None:
    app.register_error_handler(405, lambda e: e)
    response = client.delete("/json")
    assert response.status_code == 405
    assert set(response.allow) == {"POST", "OPTIONS"}


# -- hosts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["evil.test", "example.test.evil.test", "localhost", "EXAMPLE.test.", "xexample.test"]
)
def test_untrusted_host_is_400(app: Erlen, client: FlaskClient, host: str) -> None:
    app.config["TRUSTED_HOSTS"] = ["example.test", ".trusted.test"]
    response = client.get("/echo", f"http://{host}/")
    assert response.status_code == 400


@pytest.mark.parametrize("host", ["example.test", "EXAMPLE.TEST", "a.trusted.test", "trusted.test"])
def test_trusted_host_is_served(app: Erlen, client: FlaskClient, host: str) -> None:
    app.config["TRUSTED_HOSTS"] = ["example.test", ".trusted.test"]
    assert client.get("/echo", f"http://{host}/").status_code == 200


def test_trusted_host_with_port(app: Erlen, client: FlaskClient) -> None:
    app.config["TRUSTED_HOSTS"] = ["example.test"]
    assert client.get("/echo", "http://example.test:8080/").status_code == 200


def test_untrusted_host_is_400_on_every_request(app: Erlen, client: FlaskClient) -> None:
    # The URL adapter is cached per host; a rejected host must never get into that cache.
    app.config["TRUSTED_HOSTS"] = ["good.test"]
    for _ in range(3):
        assert client.get("/echo", "http://good.test/").status_code == 200
        assert client.get("/echo", "http://evil.test/").status_code == 400


def test_trusted_hosts_change_takes_effect_at_once(app: Erlen, client: FlaskClient) -> None:
    assert client.get("/echo", "http://a.test/").status_code == 200
    app.config["TRUSTED_HOSTS"] = ["b.test"]
    assert client.get("/echo", "http://a.test/").status_code == 400
    assert client.get("/echo", "http://b.test/").status_code == 200
    app.config["TRUSTED_HOSTS"].append("a.test")
    assert client.get("/echo", "http://a.test/").status_code == 200
    app.config["TRUSTED_HOSTS"] = None
    assert client.get("/echo", "http://c.test/").status_code == 200


def test_untrusted_host_skips_the_view_but_runs_teardown(app: Erlen, client: FlaskClient) -> None:
    app.config["TRUSTED_HOSTS"] = ["good.test"]
    events: list[str] = []
    app.before_request(lambda: events.append("before"))
    app.teardown_request(lambda exc: events.append("teardown"))
    assert client.get("/echo", "http://evil.test/").status_code == 400
    # before_request runs (as in Flask) but the view does not; teardown always runs.
    assert events == ["before", "teardown"]


def test_untrusted_host_can_be_handled_by_a_400_handler(app: Erlen, client: FlaskClient) -> None:
    app.config["TRUSTED_HOSTS"] = ["good.test"]
    app.register_error_handler(400, lambda e: ("bad host", 400))
    assert client.get("/echo", "http://evil.test/").data == b"bad host"


def test_untrusted_host_under_host_matching_is_400() -> None:
    app = Erlen("hosts", host_matching=True, static_folder=None)
    app.config["TRUSTED_HOSTS"] = ["a.test"]
    app.add_url_rule("/", "a", lambda: "a", host="a.test")
    app.add_url_rule("/", "b", lambda: "b", host="b.test")
    client = app.test_client()
    assert client.get("/", "http://a.test/").data == b"a"
    assert client.get("/", "http://b.test/").status_code == 400


def test_request_host_in_views_is_the_validated_host(app: Erlen, client: FlaskClient) -> None:
    app.config["TRUSTED_HOSTS"] = ["example.test"]
    app.add_url_rule("/host", "host", lambda: request.host)
    assert client.get("/host", "http://example.test:8080/").data == b"example.test:8080"


# -- never a 500 -----------------------------------------------------------------------------

BAD_REQUESTS: dict[str, dict[str, t.Any]] = {
    "invalid percent escapes in the path": {"path": "/%zz%"},
    "non-utf8 percent escapes in the path": {"path": "/echo%ff%fe"},
    "raw non-utf8 path": {"path": "/", "environ_overrides": {"PATH_INFO": "/ech\xff"}},
    "non-utf8 percent escapes in the query": {"path": "/echo?a=%ff%fe"},
    "raw non-utf8 query": {"path": "/echo", "environ_overrides": {"QUERY_STRING": "a=\xff\xfe"}},
    "malformed cookie header": {
        "path": "/echo",
        "headers": {"Cookie": 'a="unterminated; =; ;;;b=\x7f'},
    },
    "garbage session cookie": {"path": "/echo", "headers": {"Cookie": "session=" + "A" * 4000}},
    "garbage auth and conditional headers": {
        "path": "/headers",
        "headers": {
            "Authorization": "Basic !!!not-base64",
            "If-Modified-Since": "yesterday",
            "If-None-Match": 'W/"unterminated',
            "Range": "bytes=z-q",
            "Accept": ";;;q=abc",
            "Date": "not a date",
        },
    },
    "negative content length": {
        "path": "/form",
        "method": "POST",
        "data": b"a=1",
        "content_type": "application/x-www-form-urlencoded",
        "headers": {"Content-Length": "-5"},
    },
    "non-numeric content length": {
        "path": "/data",
        "method": "POST",
        "data": b"abc",
        "headers": {"Content-Length": "abc"},
    },
    "multipart without a boundary": {
        "path": "/form",
        "method": "POST",
        "data": b"whatever",
        "content_type": "multipart/form-data",
    },
    "truncated multipart": {
        "path": "/form",
        "method": "POST",
        "data": b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue',
        "content_type": "multipart/form-data; boundary=b",
    },
    "multipart with non-utf8 names and values": {
        "path": "/form",
        "method": "POST",
        "data": b'--b\r\nContent-Disposition: form-data; name="\xff"\r\n\r\n\xfe\r\n--b--\r\n',
        "content_type": "multipart/form-data; boundary=b",
    },
    "urlencoded body with raw non-utf8 bytes": {
        "path": "/form",
        "method": "POST",
        "data": b"a=\xff\xfe&b",
        "content_type": "application/x-www-form-urlencoded",
    },
    "json with an unknown charset": {
        "path": "/json",
        "method": "POST",
        "data": b'{"a": 1}',
        "content_type": "application/json; charset=no-such-charset",
    },
    "json in latin-1": {
        "path": "/json",
        "method": "POST",
        "data": b'"\xe9"',
        "content_type": "application/json; charset=latin-1",
    },
    "huge number in json": {
        "path": "/json",
        "method": "POST",
        "data": b"1" * 10_000,
        "content_type": "application/json",
    },
    "untrusted host": {"path": "/echo", "base_url": "http://evil.test/", "trusted": True},
    "overlong host label": {
        "path": "/echo",
        "environ_overrides": {"HTTP_HOST": "a" * 64 + ".test"},
    },
    "unknown method": {"path": "/echo", "method": "PROPFIND"},
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_bad_requests_never_cause_a_500(app: Erlen, client: FlaskClient, case: str) -> None:
    kwargs = dict(BAD_REQUESTS[case])
    if kwargs.pop("trusted", False):
        app.config["TRUSTED_HOSTS"] = ["localhost"]
    errors: list[BaseException] = []
    app.teardown_request(lambda exc: errors.append(exc) if exc is not None else None)
    response = client.open(**kwargs)
    assert response.status_code < 500, response.data[:300]
    assert errors == []


def test_an_error_page_for_a_refused_host_can_link_to_pages(
    app: Erlen, client: FlaskClient
) -> None:
    # The 400 page for an untrusted Host is rendered without the request's URL adapter:
    # paths still build (a styled error page links its stylesheet), the refused host
    # never appears in a URL, and an absolute URL is refused rather than invented.
    app.config["TRUSTED_HOSTS"] = ["good.test"]
    external: list[str] = []

    def bad_host(error: Exception) -> tuple[str, int]:
        try:
            url_for("echo", _external=True)
        except RuntimeError as e:
            external.append(str(e))
        return f"see {url_for('echo', q='1')}", 400

    app.register_error_handler(400, bad_host)
    response = client.get("/echo", "http://evil.test/")
    assert response.status_code == 400
    assert response.data == b"see /echo?q=1"
    assert external and "TRUSTED_HOSTS" in external[0]
