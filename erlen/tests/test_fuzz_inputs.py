"""Property-based tests: whatever a client sends, the app answers it and never fails with 500.

The examples in test_bad_input.py are the inputs we thought of; here Hypothesis makes up the
rest: random bodies under JSON, form and multipart content types, random path segments for
every converter, random query strings, headers and session cookies. Two kinds of property:

- robustness: the answer is a 2xx/3xx/4xx, never a 500, whatever the bytes;
- round trips: what a client encodes correctly comes back unchanged (JSON values, form
  fields, query arguments, converter values, session data).

The app is built once per module, not per example (Hypothesis runs each test many times, and
the views keep no state).
"""

from __future__ import annotations

import functools
import io
import json
import math
import typing as t
import uuid
from datetime import datetime
from datetime import UTC
from urllib.parse import quote

from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from erlen import Erlen
from erlen import request
from erlen import session
from erlen.testing import FlaskClient

# A status the client caused or a success; 5xx would mean the app failed on the input.
_ANSWERED = range(200, 500)

# JSON values as a client would send them: finite floats only (JSON has no NaN).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


@functools.cache
def _app() -> Erlen:
    app = Erlen("fuzz_inputs")
    app.config.update(SECRET_KEY="fuzz secret key", PROPAGATE_EXCEPTIONS=False)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024

    @app.post("/json")
    def read_json() -> t.Any:
        return {"received": request.get_json()}

    @app.post("/form")
    def read_form() -> t.Any:
        return {
            "form": request.form.to_dict(flat=False),
            "files": {name: f.read().hex() for name, f in request.files.items()},
        }

    @app.get("/args")
    def read_args() -> t.Any:
        return {"args": request.args.to_dict(flat=False)}

    @app.get("/int/<int:value>")
    def read_int(value: int) -> t.Any:
        return {"value": value}

    @app.get("/signed/<int(signed=True):value>")
    def read_signed(value: int) -> t.Any:
        return {"value": value}

    @app.get("/float/<float:value>")
    def read_float(value: float) -> t.Any:
        return {"value": value}

    @app.get("/uuid/<uuid:value>")
    def read_uuid(value: uuid.UUID) -> t.Any:
        return {"value": str(value)}

    @app.get("/path/<path:value>")
    def read_path(value: str) -> t.Any:
        return {"value": value}

    @app.get("/headers")
    def read_headers() -> t.Any:
        # Touch every parsed header a view commonly reads; parsing is lazy.
        return {
            "authorization": repr(request.authorization),
            "if_modified_since": repr(request.if_modified_since),
            "range": repr(request.range),
            "accept": repr(request.accept_mimetypes.best),
            "languages": repr(request.accept_languages.best),
            "cookies": request.cookies.to_dict(),
            "content_type": request.mimetype,
        }

    @app.post("/session")
    def write_session() -> str:
        session["value"] = request.get_json()["value"]
        return "stored"

    @app.get("/session")
    def read_session() -> t.Any:
        return {"keys": sorted(session.keys())}

    return app


def _client() -> FlaskClient:
    return _app().test_client()


# -- robustness: any bytes under any of the usual content types ---------------------------


@given(body=st.binary(max_size=2048))
@example(body=b'"\\ud800"')  # a lone surrogate: valid JSON, not encodable text
@example(body=b"\xff\xfe{}")  # a UTF-16 byte order mark in front of JSON
@example(body=b"[" * 5000)  # nesting past the parser's recursion limit
def test_any_body_as_json_is_answered(body: bytes) -> None:
    response = _client().post("/json", data=body, content_type="application/json")
    assert response.status_code in (200, 400), response.data


@given(body=st.binary(max_size=2048))
@example(body=b"a=%ff%fe&b=%00&c")
def test_any_body_as_a_form_is_answered(body: bytes) -> None:
    response = _client().post("/form", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.data


@given(
    boundary=st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='";'),
        min_size=1,
        max_size=70,
    ),
    body=st.binary(max_size=2048),
)
def test_any_body_as_multipart_is_answered(boundary: str, body: bytes) -> None:
    response = _client().post(
        "/form", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code in _ANSWERED, response.data


@given(parts=st.lists(st.binary(max_size=200), max_size=5))
def test_multipart_with_random_part_contents_is_answered(parts: list[bytes]) -> None:
    # Well-framed multipart whose part headers and contents are random bytes.
    boundary = "fuzzboundary"
    body = b"".join(b"--fuzzboundary\r\n" + part + b"\r\n" for part in parts)
    body += b"--fuzzboundary--\r\n"
    response = _client().post(
        "/form", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code in _ANSWERED, response.data


@given(
    segment=st.text(max_size=40),
    route=st.sampled_from(["int", "signed", "float", "uuid", "path"]),
)
@example(segment="9" * 400, route="int")  # far beyond any integer column
@example(segment="1e400", route="float")
def test_any_path_segment_is_answered(segment: str, route: str) -> None:
    response = _client().get(f"/{route}/{quote(segment, safe='')}")
    assert response.status_code in _ANSWERED, response.data


@given(query=st.binary(max_size=500))
def test_any_query_string_is_answered(query: bytes) -> None:
    # Raw, as a WSGI server hands it over: bytes carried in a latin-1 str (PEP 3333).
    response = _client().get("/args", environ_overrides={"QUERY_STRING": query.decode("latin-1")})
    assert response.status_code == 200, response.data


header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=200,
)


@given(
    name=st.sampled_from(
        [
            "Authorization",
            "If-Modified-Since",
            "Range",
            "Accept",
            "Accept-Language",
            "Cookie",
            "Content-Type",
        ]
    ),
    value=header_values,
)
@example(name="Authorization", value="Basic !!!not-base64")
@example(name="Cookie", value='session="unterminated; a=\\')
def test_any_header_value_is_answered(name: str, value: str) -> None:
    response = _client().get("/headers", headers={name: value})
    assert response.status_code == 200, response.data


@given(cookie=header_values)
def test_any_session_cookie_is_ignored_not_trusted(cookie: str) -> None:
    client = _client()
    client.set_cookie("session", cookie)
    response = client.get("/session")
    assert response.status_code == 200
    # Nothing but a cookie signed with the app's key can put data in the session.
    assert response.get_json() == {"keys": []}


# -- round trips: what a client encodes correctly arrives unchanged ------------------------


@given(value=json_values)
def test_json_values_round_trip(value: t.Any) -> None:
    # Encoded by hand: the test client's json=None would mean "no body".
    response = _client().post("/json", data=json.dumps(value), content_type="application/json")
    assert response.status_code == 200
    assert _same_json(response.get_json()["received"], value)


@given(
    fields=st.dictionaries(
        st.text(min_size=1, max_size=20), st.lists(st.text(max_size=50), min_size=1, max_size=3)
    )
)
def test_form_fields_round_trip(fields: dict[str, list[str]]) -> None:
    pairs = [(name, value) for name, values in fields.items() for value in values]
    response = _client().post("/form", data=MultiDict(pairs))
    assert response.status_code == 200
    assert response.get_json()["form"] == fields


# Field names without the characters browsers escape in a multipart name (HTML's form
# encoding: quote, CR, LF) and without backslash, which werkzeug's client writes raw but its
# parser reads as a quoted-string escape (the same in Flask).
multipart_names = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters='"\\\r\n'),
    min_size=1,
    max_size=20,
)


@given(
    fields=st.dictionaries(multipart_names, st.text(max_size=50), max_size=5),
    content=st.binary(max_size=300),
)
def test_multipart_fields_and_files_round_trip(fields: dict[str, str], content: bytes) -> None:
    data: dict[str, t.Any] = dict(fields)
    data["upload"] = (io.BytesIO(content), "file.bin")
    response = _client().post("/form", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    body = response.get_json()
    assert body["form"] == {name: [value] for name, value in fields.items() if name != "upload"}
    assert body["files"] == {"upload": content.hex()}


@given(args=st.lists(st.tuples(st.text(min_size=1), st.text()), max_size=5))
def test_query_arguments_round_trip(args: list[tuple[str, str]]) -> None:
    response = _client().get("/args", query_string=args)
    expected: dict[str, list[str]] = {}
    for name, value in args:
        expected.setdefault(name, []).append(value)
    assert response.get_json()["args"] == expected


@given(value=st.integers(min_value=0))
def test_int_converter_round_trips(value: int) -> None:
    assert _client().get(f"/int/{value}").get_json() == {"value": value}


@given(value=st.integers())
def test_signed_int_converter_round_trips(value: int) -> None:
    assert _client().get(f"/signed/{value}").get_json() == {"value": value}


@given(value=st.floats(min_value=0, allow_infinity=False, allow_nan=False))
def test_float_converter_round_trips(value: float) -> None:
    response = _client().get(f"/float/{value!r}")
    if "e" in repr(value):
        # The float converter takes plain decimals only, like Flask's; exponents don't match.
        assert response.status_code == 404
    else:
        assert response.get_json() == {"value": value}


@given(value=st.uuids())
def test_uuid_converter_round_trips(value: uuid.UUID) -> None:
    assert _client().get(f"/uuid/{value}").get_json() == {"value": str(value)}


@given(
    value=st.lists(
        st.text(
            # No line breaks: werkzeug's path converter (Flask's too) doesn't match them, so
            # such a URL is a 404, which test_any_path_segment_is_answered already allows.
            alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="/\n\r"),
            min_size=1,
            max_size=10,
        ).filter(lambda s: s not in (".", "..")),
        min_size=1,
        max_size=4,
    ).map("/".join)
)
def test_path_converter_round_trips(value: str) -> None:
    response = _client().get("/path/" + quote(value, safe="/"))
    assert response.get_json() == {"value": value}


session_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.binary(max_size=20)
    | st.uuids()
    | st.datetimes(timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))
    | st.text(max_size=20).map(Markup),
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60)
@given(value=session_values)
def test_session_values_round_trip_through_the_signed_cookie(value: t.Any) -> None:
    app = _app()
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    decoded = serializer.loads(serializer.dumps({"value": value}))
    assert decoded == {"value": value}
    assert _same_types(decoded["value"], value)


def _same_json(a: t.Any, b: t.Any) -> bool:
    """JSON equality that also tells 1 from 1.0 and True from 1, and -0.0 from 0.0."""
    if isinstance(b, float):
        return isinstance(a, float) and a == b and math.copysign(1, a) == math.copysign(1, b)
    if type(a) is not type(b):
        return False
    if isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in b)
    return bool(a == b)


def _same_types(a: t.Any, b: t.Any) -> bool:
    """True if ``a`` mirrors ``b`` type for type (a tuple stays a tuple, Markup stays Markup)."""
    if type(a) is not type(b):
        return False
    if isinstance(b, (list, tuple)):
        return all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(b, dict):
        return all(_same_types(a[k], b[k]) for k in b)
    if isinstance(b, datetime):
        return bool(a == b)
    return True
