"""Behaviour of class-based views."""

from __future__ import annotations

import functools
import typing as t

import pytest
from werkzeug.http import parse_set_header

import erlen
from erlen.views import MethodView
from erlen.views import View


@pytest.fixture
def app() -> erlen.Erlen:
    app = erlen.Erlen(__name__)
    app.testing = True
    return app


def allowed(app: erlen.Erlen, path: str = "/") -> list[str]:
    response = app.test_client().open(path, method="OPTIONS")
    return sorted(parse_set_header(response.headers["Allow"]))


def test_view_answers_only_its_methods(app: erlen.Erlen) -> None:
    class Echo(View):
        methods = ["GET", "POST"]

        def dispatch_request(self) -> str:
            return erlen.request.method

    app.add_url_rule("/", view_func=Echo.as_view("echo"))
    client = app.test_client()

    assert client.get("/").data == b"GET"
    assert client.post("/").data == b"POST"
    assert client.put("/").status_code == 405
    assert allowed(app) == ["GET", "HEAD", "OPTIONS", "POST"]


def test_view_without_methods_gets_the_route_default(app: erlen.Erlen) -> None:
    class Hello(View):
        def dispatch_request(self) -> str:
            return "hi"

    app.add_url_rule("/", view_func=Hello.as_view("hello"))

    assert allowed(app) == ["GET", "HEAD", "OPTIONS"]


def test_url_variables_and_constructor_arguments_reach_the_view(app: erlen.Erlen) -> None:
    class Greet(View):
        def __init__(self, greeting: str, *, punctuation: str) -> None:
            self.greeting = greeting
            self.punctuation = punctuation

        # The URL variables arrive as arguments, as documented; View.dispatch_request is
        # declared without them, so a view taking some overrides it incompatibly on purpose.
        def dispatch_request(self, name: str) -> str:  # type: ignore[override]
            return f"{self.greeting}, {name}{self.punctuation}"

    app.add_url_rule("/hello/<name>", view_func=Greet.as_view("greet", "Hello", punctuation="!"))

    assert app.test_client().get("/hello/Ada").data == b"Hello, Ada!"


def test_as_view_describes_the_generated_function() -> None:
    class Documented(View):
        """Documentation of the view."""

        methods = ["PUT"]
        provide_automatic_options = False

    view = Documented.as_view("documented")

    assert view.__name__ == "documented"
    assert view.__doc__ == "Documentation of the view."
    assert view.__module__ == __name__
    assert view.view_class is Documented  # type: ignore[union-attr]
    assert view.methods == ["PUT"]  # type: ignore[union-attr]
    assert view.provide_automatic_options is False  # type: ignore[union-attr]


def test_a_new_instance_serves_every_request_by_default(app: erlen.Erlen) -> None:
    instances: list[object] = []

    class Track(View):
        def __init__(self) -> None:
            instances.append(self)

        def dispatch_request(self) -> str:
            return str(len(instances))

    app.add_url_rule("/", view_func=Track.as_view("track"))
    client = app.test_client()

    assert instances == []
    assert client.get("/").data == b"1"
    assert client.get("/").data == b"2"


def test_init_every_request_false_shares_one_instance(app: erlen.Erlen) -> None:
    created = 0

    class Shared(View):
        init_every_request = False

        def __init__(self) -> None:
            nonlocal created
            created += 1

        def dispatch_request(self) -> str:
            return str(created)

    app.add_url_rule("/", view_func=Shared.as_view("shared"))
    client = app.test_client()

    assert created == 1
    assert client.get("/").data == b"1"
    assert client.get("/").data == b"1"


def test_replacing_view_class_changes_what_is_instantiated(app: erlen.Erlen) -> None:
    class Real(MethodView):
        def get(self) -> str:
            raise ZeroDivisionError

    class Fake(Real):
        def get(self) -> str:
            return "fake"

    view = Real.as_view("index")
    view.view_class = Fake  # type: ignore[union-attr]
    app.add_url_rule("/", view_func=view)

    assert app.test_client().get("/").data == b"fake"


def test_decorators_wrap_the_view_in_list_order(app: erlen.Erlen) -> None:
    def tag(label: str) -> t.Callable[[t.Callable[..., t.Any]], t.Callable[..., t.Any]]:
        def decorator(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
            @functools.wraps(f)
            def wrapper(**kwargs: t.Any) -> t.Any:
                response = erlen.make_response(f(**kwargs))
                response.headers.add("X-Order", label)
                return response

            return wrapper

        return decorator

    class Index(View):
        decorators = [tag("inner"), tag("outer")]

        def dispatch_request(self) -> str:
            return "body"

    view = Index.as_view("index")
    app.add_url_rule("/", view_func=view)
    response = app.test_client().get("/")

    assert view.__name__ == "index"
    assert response.data == b"body"
    assert response.headers.getlist("X-Order") == ["inner", "outer"]


def test_provide_automatic_options_false_makes_options_405(app: erlen.Erlen) -> None:
    class NoOptions(View):
        provide_automatic_options = False

        def dispatch_request(self) -> str:
            return "x"

    app.add_url_rule("/", view_func=NoOptions.as_view("index"))

    assert app.test_client().open("/", method="OPTIONS").status_code == 405


def test_provide_automatic_options_true_with_only_options(app: erlen.Erlen) -> None:
    class OnlyOptions(View):
        methods = ["OPTIONS"]
        provide_automatic_options = True

        def dispatch_request(self) -> str:
            return "x"

    app.add_url_rule("/", view_func=OnlyOptions.as_view("index"))

    assert allowed(app) == ["OPTIONS"]


def test_dispatch_request_must_be_overridden() -> None:
    with pytest.raises(NotImplementedError):
        View().dispatch_request()


# MethodView


def test_method_view_dispatches_on_the_http_method(app: erlen.Erlen) -> None:
    class Item(MethodView):
        def get(self, item_id: int) -> str:
            return f"get {item_id}"

        def post(self, item_id: int) -> str:
            return f"post {item_id}"

    app.add_url_rule("/items/<int:item_id>", view_func=Item.as_view("item"))
    client = app.test_client()

    assert Item.methods == {"GET", "POST"}
    assert client.get("/items/3").data == b"get 3"
    assert client.post("/items/4").data == b"post 4"
    assert client.delete("/items/5").status_code == 405
    assert allowed(app, "/items/1") == ["GET", "HEAD", "OPTIONS", "POST"]


def test_method_view_head_falls_back_to_get(app: erlen.Erlen) -> None:
    class Page(MethodView):
        def get(self) -> erlen.Response:
            return erlen.Response("page", headers={"X-Method": erlen.request.method})

    app.add_url_rule("/", view_func=Page.as_view("page"))
    response = app.test_client().head("/")

    assert response.data == b""
    assert response.headers["X-Method"] == "HEAD"


def test_method_view_uses_an_explicit_head(app: erlen.Erlen) -> None:
    class Page(MethodView):
        def get(self) -> str:
            return "page"

        def head(self) -> erlen.Response:
            return erlen.Response("", headers={"X-Head": "yes"})

    app.add_url_rule("/", view_func=Page.as_view("page"))

    assert app.test_client().head("/").headers["X-Head"] == "yes"
    assert app.test_client().get("/").data == b"page"


def test_method_view_subclass_inherits_and_adds_methods(app: erlen.Erlen) -> None:
    class Read(MethodView):
        def get(self) -> str:
            return "GET"

    class ReadDelete(Read):
        def delete(self) -> str:
            return "DELETE"

    app.add_url_rule("/", view_func=ReadDelete.as_view("index"))

    assert allowed(app) == ["DELETE", "GET", "HEAD", "OPTIONS"]
    assert app.test_client().delete("/").data == b"DELETE"


def test_method_view_combines_methods_of_several_bases() -> None:
    class Get(MethodView):
        def get(self) -> str:
            return "GET"

    class Delete(MethodView):
        def delete(self) -> str:
            return "DELETE"

    class Both(Get, Delete):
        pass

    assert Both.methods == {"GET", "DELETE"}


def test_method_view_keeps_explicit_methods(app: erlen.Erlen) -> None:
    class Get(MethodView):
        def get(self) -> str:
            return "GET"

    class Post(MethodView):
        def post(self) -> str:
            return "POST"

    class OnlyGet(Get, Post):
        methods = ["GET"]

    app.add_url_rule("/", view_func=OnlyGet.as_view("index"))

    assert OnlyGet.methods == ["GET"]
    assert app.test_client().post("/").status_code == 405


def test_method_view_adds_custom_methods_declared_on_a_base(app: erlen.Erlen) -> None:
    class Base(MethodView):
        # As View declares it: subclasses may be given another collection (a set, below).
        methods: t.ClassVar[t.Collection[str] | None] = ["GET", "PROPFIND"]

    class Child(Base):
        def get(self) -> str:
            return "GET"

        def propfind(self) -> str:
            return "PROPFIND"

    app.add_url_rule("/", view_func=Child.as_view("index"))

    assert Child.methods == {"GET", "PROPFIND"}
    assert app.test_client().open("/", method="PROPFIND").data == b"PROPFIND"


def test_method_view_without_handlers_has_no_methods() -> None:
    class Empty(MethodView):
        pass

    assert Empty.methods is None


def test_method_view_async_handlers_run_through_ensure_sync(app: erlen.Erlen) -> None:
    class Async(MethodView):
        async def get(self) -> str:
            return "async get"

    app.add_url_rule("/", view_func=Async.as_view("index"))

    assert app.test_client().get("/").data == b"async get"


def test_async_dispatch_request_runs_through_ensure_sync(app: erlen.Erlen) -> None:
    class Async(View):
        async def dispatch_request(self) -> str:  # type: ignore[override]
            return "async view"

    app.add_url_rule("/", view_func=Async.as_view("index"))

    assert app.test_client().get("/").data == b"async view"
