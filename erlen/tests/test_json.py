"""Behaviour of :mod:`erlen.json` and the JSON providers."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import io
import json as stdlib_json
import typing as t
import uuid
import weakref

import pytest
from markupsafe import Markup
from werkzeug.http import http_date

import erlen
from erlen import json
from erlen.json.provider import DefaultJSONProvider
from erlen.json.provider import JSONProvider


@dataclasses.dataclass
class Point:
    x: int
    y: int


@pytest.fixture
def app() -> erlen.Erlen:
    return erlen.Erlen(__name__)


@pytest.fixture
def app_ctx(app: erlen.Erlen) -> t.Iterator[None]:
    with app.app_context():
        yield


# Without an application


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (decimal.Decimal("0.003"), '"0.003"'),
        (uuid.UUID(int=1), '"00000000-0000-0000-0000-000000000001"'),
        (datetime.date(1975, 1, 5), '"Sun, 05 Jan 1975 00:00:00 GMT"'),
        (datetime.datetime(1973, 3, 11, 6, 30, 45), '"Sun, 11 Mar 1973 06:30:45 GMT"'),
        (Point(1, 2), '{"x": 1, "y": 2}'),
        (Markup("<p>hi</p>"), '"<p>hi</p>"'),
    ],
)
def test_dumps_outside_an_app_handles_the_extra_types(value: t.Any, expected: str) -> None:
    assert json.dumps(value) == expected


def test_dumps_converts_aware_datetimes_to_gmt() -> None:
    tz = datetime.timezone(datetime.timedelta(hours=-8))
    value = datetime.datetime(2017, 1, 1, 12, 34, 56, tzinfo=tz)

    assert json.dumps(value) == '"Sun, 01 Jan 2017 20:34:56 GMT"'


def test_dumps_of_any_object_with_html_method() -> None:
    class Snippet:
        def __html__(self) -> str:
            return "<em>x</em>"

    assert json.dumps([Snippet()]) == '["<em>x</em>"]'


def test_dumps_of_an_unknown_type_raises_type_error() -> None:
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        json.dumps(object())


def test_functions_outside_an_app_behave_like_the_standard_library() -> None:
    data = {"b": [1, 2], "a": "ü"}
    out = io.StringIO()

    json.dump(data, out)

    assert out.getvalue() == stdlib_json.dumps(data)
    assert json.loads(out.getvalue()) == data
    assert json.loads(out.getvalue().encode()) == data
    assert json.load(io.StringIO(out.getvalue())) == data


def test_jsonify_outside_an_app_context_raises() -> None:
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        json.jsonify(1)


# Inside an application context


@pytest.mark.usefixtures("app_ctx")
def test_dumps_in_an_app_sorts_keys_and_escapes_non_ascii(app: erlen.Erlen) -> None:
    assert isinstance(app.json, DefaultJSONProvider)
    assert json.dumps({"b": 1, "a": "\N{SNOWMAN}"}) == '{"a": "\\u2603", "b": 1}'


@pytest.mark.usefixtures("app_ctx")
def test_provider_attribute_changes_apply_to_later_calls(app: erlen.Erlen) -> None:
    assert json.dumps({"b": "\N{SNOWMAN}", "a": 1}) == '{"a": 1, "b": "\\u2603"}'

    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    assert json.dumps({"b": "\N{SNOWMAN}", "a": 1}) == '{"b": "\N{SNOWMAN}", "a": 1}'


@pytest.mark.usefixtures("app_ctx")
def test_dumps_passes_keyword_arguments_through(app: erlen.Erlen) -> None:
    assert json.dumps([1, {"a": 2}], separators=[",", ":"]) == '[1,{"a":2}]'
    assert json.dumps({"a": 1}, indent=1) == '{\n "a": 1\n}'
    assert json.dumps({"a": 1}, sort_keys=False, ensure_ascii=False) == '{"a": 1}'
    with pytest.raises(ValueError):
        json.dumps(float("nan"), allow_nan=False)


@pytest.mark.usefixtures("app_ctx")
def test_app_default_function_can_be_replaced(app: erlen.Erlen) -> None:
    json.dumps(decimal.Decimal(1))  # prime any caching with the original function

    def default(o: t.Any) -> t.Any:
        if isinstance(o, complex):
            return [o.real, o.imag]
        return DefaultJSONProvider.default(o)

    app.json.default = default  # type: ignore[attr-defined]

    assert json.dumps({"z": 1 + 2j, "d": decimal.Decimal(1)}) == '{"d": "1", "z": [1.0, 2.0]}'


@pytest.mark.usefixtures("app_ctx")
def test_default_can_be_a_method_of_a_provider_subclass(app: erlen.Erlen) -> None:
    class SetProvider(DefaultJSONProvider):
        def default(self, o: t.Any) -> t.Any:
            if isinstance(o, set):
                return sorted(o)
            return super().default(o)

    app.json = SetProvider(app)

    assert json.dumps({"s": {3, 1}, "u": uuid.UUID(int=0)}) == (
        '{"s": [1, 3], "u": "00000000-0000-0000-0000-000000000000"}'
    )
    assert json.jsonify({3, 2}).data == b"[2,3]\n"


@pytest.mark.usefixtures("app_ctx")
def test_dump_and_load_go_through_the_app_provider(app: erlen.Erlen) -> None:
    class ShoutingProvider(DefaultJSONProvider):
        def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
            return super().loads(s, **kwargs).upper()

    app.json = ShoutingProvider(app)
    out = io.StringIO()

    json.dump({"b": 1, "a": 2}, out)

    assert out.getvalue() == '{"a": 2, "b": 1}'
    assert json.loads('"quiet"') == "QUIET"
    assert json.load(io.StringIO('"quiet"')) == "QUIET"


# jsonify and responses


@pytest.mark.usefixtures("app_ctx")
@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((), {}, b"null\n"),
        ((3,), {}, b"3\n"),
        (("x",), {}, b'"x"\n'),
        ((1, "a", None), {}, b'[1,"a",null]\n'),
        (([1, 2],), {}, b"[1,2]\n"),
        ((), {"b": 1, "a": [True]}, b'{"a":[true],"b":1}\n'),
    ],
)
def test_jsonify_builds_a_compact_json_response(
    app: erlen.Erlen, args: tuple[t.Any, ...], kwargs: dict[str, t.Any], expected: bytes
) -> None:
    response = json.jsonify(*args, **kwargs)

    assert isinstance(response, app.response_class)
    assert response.mimetype == "application/json"
    assert response.status_code == 200
    assert response.data == expected


@pytest.mark.usefixtures("app_ctx")
def test_jsonify_rejects_args_and_kwargs_together() -> None:
    with pytest.raises(TypeError, match="either args or kwargs, not both"):
        json.jsonify(1, a=2)


@pytest.mark.usefixtures("app_ctx")
def test_jsonify_is_indented_in_debug_mode(app: erlen.Erlen) -> None:
    app.debug = True

    assert json.jsonify(a=[1]).data == b'{\n  "a": [\n    1\n  ]\n}\n'


@pytest.mark.usefixtures("app_ctx")
@pytest.mark.parametrize(
    ("compact", "debug", "expected"),
    [
        (True, True, b'{"a":1}\n'),
        (False, False, b'{\n  "a": 1\n}\n'),
        (None, False, b'{"a":1}\n'),
    ],
)
def test_compact_attribute_overrides_debug(
    app: erlen.Erlen, compact: bool | None, debug: bool, expected: bytes
) -> None:
    app.debug = debug
    app.json.compact = compact  # type: ignore[attr-defined]

    assert json.jsonify(a=1).data == expected


@pytest.mark.usefixtures("app_ctx")
def test_response_mimetype_and_class_follow_the_provider_and_app(app: erlen.Erlen) -> None:
    class MyResponse(erlen.Response):
        pass

    app.response_class = MyResponse
    app.json.mimetype = "application/vnd.api+json"  # type: ignore[attr-defined]

    response = json.jsonify({"id": 1})

    assert isinstance(response, MyResponse)
    assert response.mimetype == "application/vnd.api+json"


@pytest.mark.usefixtures("app_ctx")
def test_response_uses_an_overridden_dumps(app: erlen.Erlen) -> None:
    class Provider(DefaultJSONProvider):
        def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
            return super().dumps({"wrapped": obj}, **kwargs)

    app.json = Provider(app)

    assert json.jsonify(1).data == b'{"wrapped":1}\n'
    app.debug = True
    assert json.jsonify(1).data == b'{\n  "wrapped": 1\n}\n'


def test_response_serializes_with_the_provider_attributes(app: erlen.Erlen) -> None:
    with app.app_context():
        app.json.sort_keys = False  # type: ignore[attr-defined]
        app.json.ensure_ascii = False  # type: ignore[attr-defined]

        body = json.jsonify({"b": "\N{SNOWMAN}", "a": datetime.date(2000, 1, 1)}).get_data(
            as_text=True
        )

    assert body == f'{{"b":"\N{SNOWMAN}","a":"{http_date(datetime.date(2000, 1, 1))}"}}\n'


def test_base_provider_needs_dumps_and_loads(app: erlen.Erlen) -> None:
    provider = JSONProvider(app)

    with pytest.raises(NotImplementedError):
        provider.dumps(1)
    with pytest.raises(NotImplementedError):
        provider.loads("1")


def test_base_provider_builds_dump_load_and_response_on_dumps_loads(app: erlen.Erlen) -> None:
    class Reversing(JSONProvider):
        def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
            return stdlib_json.dumps(obj)[::-1]

        def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
            return stdlib_json.loads(s[::-1])

    provider = Reversing(app)
    out = io.StringIO()
    provider.dump([1, 2], out)

    assert out.getvalue() == "]2 ,1["
    assert provider.load(io.StringIO(out.getvalue())) == [1, 2]
    response = provider.response(a=1)
    assert isinstance(response, erlen.Response)
    assert response.mimetype == "application/json"
    assert response.get_data() == b'}1 :"a"{'


def test_provider_does_not_keep_the_app_alive() -> None:
    app = erlen.Erlen(__name__)
    provider = DefaultJSONProvider(app)
    app_ref = weakref.ref(app)

    del app

    assert app_ref() is None
    with pytest.raises(ReferenceError):
        provider.response(1)


# Through the request cycle


def test_views_return_jsonify_and_plain_dicts_and_lists(app: erlen.Erlen) -> None:
    @app.route("/jsonify")
    def with_jsonify() -> erlen.Response:
        return erlen.jsonify(when=datetime.datetime(2021, 2, 1, 7, 15), id=uuid.UUID(int=2))

    @app.route("/dict")
    def with_dict() -> dict[str, t.Any]:
        return {"price": decimal.Decimal("9.99")}

    @app.route("/list")
    def with_list() -> list[t.Any]:
        return [Point(0, 1)]

    client = app.test_client()

    response = client.get("/jsonify")
    assert response.mimetype == "application/json"
    assert response.json == {
        "id": "00000000-0000-0000-0000-000000000002",
        "when": "Mon, 01 Feb 2021 07:15:00 GMT",
    }
    assert client.get("/dict").json == {"price": "9.99"}
    assert client.get("/list").json == [{"x": 0, "y": 1}]


def test_request_json_is_decoded_by_the_app_provider(app: erlen.Erlen) -> None:
    class Provider(DefaultJSONProvider):
        def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
            kwargs.setdefault("parse_float", decimal.Decimal)
            return super().loads(s, **kwargs)

    app.json = Provider(app)

    @app.post("/total")
    def total() -> str:
        data = erlen.request.get_json()
        return repr(data["a"] + data["b"])

    response = app.test_client().post("/total", json={"a": 0.1, "b": 0.2})

    assert response.data == b"Decimal('0.3')"


def test_malformed_request_json_is_a_bad_request(app: erlen.Erlen) -> None:
    @app.post("/echo")
    def echo() -> t.Any:
        return erlen.jsonify(erlen.request.get_json())

    response = app.test_client().post("/echo", data="{not json", content_type="application/json")

    assert response.status_code == 400
