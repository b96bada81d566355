"""Resources: routing, CRUD over the sample API, return values, and registration."""

from __future__ import annotations

import typing as t

import pytest
from pydantic import BaseModel
from rest_sample import Store

import erlen
from erlen.ext.rest import Api
from erlen.ext.rest import body
from erlen.ext.rest import query
from erlen.ext.rest import Resource
from erlen.ext.rest import response
from erlen.testing import FlaskClient


class Greeting(BaseModel):
    text: str
    loud: bool = False


class Filters(BaseModel):
    tag: list[str] = []
    limit: int = 10


class Echo(Resource):
    """Returns what it was given, in the shapes resource methods may return."""

    def get(self, params: Filters) -> dict[str, t.Any]:
        return {"tags": params.tag, "limit": params.limit}

    def post(self, data: Greeting) -> Greeting:
        return data

    @body(Greeting, name="payload")
    @query(Filters)
    def put(self, payload: t.Any, query: Filters) -> tuple[dict[str, t.Any], int, dict[str, str]]:
        return {"text": payload.text, "limit": query.limit}, 202, {"X-Echo": "yes"}


class Shapes(Resource):
    def get(self, kind: str) -> t.Any:
        if kind == "models":
            return [Greeting(text="a"), Greeting(text="b", loud=True)]
        if kind == "nested":
            return {"greeting": Greeting(text="hi")}
        if kind == "text":
            return "plain text"
        if kind == "headers":
            return {"ok": True}, {"X-Shape": "headers"}
        return None


class Hidden(BaseModel):
    text: str


class Serialised(Resource):
    @response(Hidden)
    def get(self) -> dict[str, str]:
        # More than the model has: the response keeps only the model's fields.
        return {"text": "shown", "secret": "never sent"}


class Row:
    """An ORM-like object: attributes, not a dict."""

    def __init__(self) -> None:
        self.text = "from attributes"
        self.password = "hunter2"


class FromRow(Resource):
    def get(self) -> Hidden:
        return Row()  # type: ignore[return-value]


class AsyncResource(Resource):
    async def get(self) -> Greeting:
        return Greeting(text="async")


class WithArgs(Resource):
    def __init__(self, greeting: str, *, punctuation: str = ".") -> None:
        self.greeting = greeting
        self.punctuation = punctuation

    def get(self) -> dict[str, str]:
        return {"text": self.greeting + self.punctuation}


@pytest.fixture
def echo_app(app: erlen.Erlen) -> erlen.Erlen:
    api = Api(app)
    api.add_resource(Echo, "/echo")
    api.add_resource(Shapes, "/shapes/<kind>")
    api.add_resource(Serialised, "/serialised")
    api.add_resource(FromRow, "/row")
    api.add_resource(AsyncResource, "/async")
    api.add_resource(
        WithArgs,
        "/hello",
        resource_class_args=("hello",),
        resource_class_kwargs={"punctuation": "!"},
    )
    return app


@pytest.fixture
def echo(echo_app: erlen.Erlen) -> FlaskClient:
    return echo_app.test_client()


# -- CRUD over the sample API ------------------------------------------------------------------


def test_create_returns_201_and_the_stored_thing(api_client: FlaskClient) -> None:
    rv = api_client.post("/api/things", json={"name": "lamp", "quantity": 2})
    assert rv.status_code == 201
    assert rv.mimetype == "application/json"
    assert rv.get_json() == {"id": 1, "name": "lamp", "quantity": 2, "tags": []}


def test_created_thing_can_be_fetched_by_id(api_client: FlaskClient) -> None:
    api_client.post("/api/things", json={"name": "lamp", "tags": ["light"]})
    rv = api_client.get("/api/things/1")
    assert rv.status_code == 200
    assert rv.get_json() == {"id": 1, "name": "lamp", "quantity": 0, "tags": ["light"]}


def test_put_replaces_every_field(api_client: FlaskClient, three_things: Store) -> None:
    rv = api_client.put("/api/things/2", json={"name": "plantain"})
    assert rv.status_code == 200
    assert rv.get_json() == {"id": 2, "name": "plantain", "quantity": 0, "tags": []}


def test_patch_changes_only_the_fields_sent(api_client: FlaskClient, three_things: Store) -> None:
    rv = api_client.patch("/api/things/2", json={"quantity": 40})
    assert rv.get_json() == {"id": 2, "name": "banana", "quantity": 40, "tags": []}


def test_delete_answers_204_and_the_thing_is_gone(
    api_client: FlaskClient, three_things: Store
) -> None:
    rv = api_client.delete("/api/things/3")
    assert rv.status_code == 204
    assert rv.data == b""
    assert api_client.get("/api/things/3").status_code == 404
    assert [thing.id for thing in three_things.list()] == [1, 2]


def test_unknown_id_is_a_404_problem_with_the_resources_own_detail(
    api_client: FlaskClient,
) -> None:
    rv = api_client.get("/api/things/42")
    assert rv.status_code == 404
    assert rv.get_json()["detail"] == "Thing 42 does not exist."


def test_list_returns_a_page_with_the_total(api_client: FlaskClient, three_things: Store) -> None:
    rv = api_client.get("/api/things?per_page=2")
    data = rv.get_json()
    assert rv.status_code == 200
    assert [item["name"] for item in data["items"]] == ["apple", "banana"]
    assert (data["page"], data["per_page"], data["total"]) == (1, 2, 3)


def test_list_filters_by_name(api_client: FlaskClient, three_things: Store) -> None:
    rv = api_client.get("/api/things?name=an")
    assert [item["name"] for item in rv.get_json()["items"]] == ["banana"]


def test_head_is_answered_by_get_without_a_body(
    api_client: FlaskClient, three_things: Store
) -> None:
    rv = api_client.head("/api/things/1")
    assert rv.status_code == 200
    assert rv.data == b""


def test_options_lists_the_resources_methods(api_client: FlaskClient) -> None:
    rv = api_client.options("/api/things/1")
    assert rv.status_code == 200
    assert set(rv.allow) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"}


# -- inputs and return values ------------------------------------------------------------------


def test_query_model_reads_repeated_arguments_into_list_fields(echo: FlaskClient) -> None:
    rv = echo.get("/api/echo?tag=a&tag=b&limit=3")
    assert rv.get_json() == {"tags": ["a", "b"], "limit": 3}


def test_query_model_defaults_apply_when_arguments_are_missing(echo: FlaskClient) -> None:
    assert echo.get("/api/echo").get_json() == {"tags": [], "limit": 10}


def test_annotated_model_parameter_of_post_is_the_json_body(echo: FlaskClient) -> None:
    rv = echo.post("/api/echo", json={"text": "hi"})
    assert rv.get_json() == {"text": "hi", "loud": False}


def test_decorators_name_the_parameters_and_a_tuple_sets_status_and_headers(
    echo: FlaskClient,
) -> None:
    rv = echo.put("/api/echo?limit=5", json={"text": "hi"})
    assert rv.status_code == 202
    assert rv.headers["X-Echo"] == "yes"
    assert rv.get_json() == {"text": "hi", "limit": 5}


def test_list_of_models_is_sent_as_a_json_array(echo: FlaskClient) -> None:
    rv = echo.get("/api/shapes/models")
    assert rv.get_json() == [{"text": "a", "loud": False}, {"text": "b", "loud": True}]


def test_models_nested_in_a_dict_are_serialised(echo: FlaskClient) -> None:
    rv = echo.get("/api/shapes/nested")
    assert rv.get_json() == {"greeting": {"text": "hi", "loud": False}}


def test_body_and_headers_tuple_keeps_the_default_status(echo: FlaskClient) -> None:
    rv = echo.get("/api/shapes/headers")
    assert rv.status_code == 200
    assert rv.headers["X-Shape"] == "headers"


def test_text_is_handed_to_the_app_unchanged(echo: FlaskClient) -> None:
    rv = echo.get("/api/shapes/text")
    assert rv.data == b"plain text"
    assert rv.mimetype == "text/html"


def test_returning_none_is_204_no_content(echo: FlaskClient) -> None:
    rv = echo.get("/api/shapes/nothing")
    assert rv.status_code == 204
    assert rv.data == b""


def test_response_model_drops_fields_it_does_not_declare(echo: FlaskClient) -> None:
    assert echo.get("/api/serialised").get_json() == {"text": "shown"}


def test_return_annotation_serialises_objects_by_attribute(echo: FlaskClient) -> None:
    assert echo.get("/api/row").get_json() == {"text": "from attributes"}


def test_async_methods_are_awaited(echo: FlaskClient) -> None:
    assert echo.get("/api/async").get_json() == {"text": "async", "loud": False}


def test_resource_class_args_reach_the_constructor(echo: FlaskClient) -> None:
    assert echo.get("/api/hello").get_json() == {"text": "hello!"}


# -- registration ------------------------------------------------------------------------------


def test_resource_decorator_registers_and_returns_the_class(app: erlen.Erlen) -> None:
    api = Api(app, prefix="/v1")

    @api.resource("/ping", endpoint="ping")
    class Ping(Resource):
        def get(self) -> dict[str, str]:
            return {"pong": "yes"}

    assert issubclass(Ping, Resource)
    assert app.test_client().get("/v1/ping").get_json() == {"pong": "yes"}
    with app.test_request_context():
        assert erlen.url_for("ping") == "/v1/ping"


def test_default_endpoint_is_the_lower_case_class_name(api_app: erlen.Erlen) -> None:
    with api_app.test_request_context():
        assert erlen.url_for("thingitem", id=3) == "/api/things/3"


def test_resources_added_before_init_app_are_registered_by_it(app: erlen.Erlen) -> None:
    api = Api(prefix="")
    api.add_resource(Serialised, "/s")
    api.init_app(app)
    assert app.test_client().get("/s").get_json() == {"text": "shown"}


def test_resources_added_after_init_app_are_registered_at_once(app: erlen.Erlen) -> None:
    api = Api(app)
    api.add_resource(Serialised, "/late")
    assert app.test_client().get("/api/late").status_code == 200


def test_api_on_a_blueprint_lives_under_its_prefix(app: erlen.Erlen) -> None:
    bp = erlen.Blueprint("v2", __name__, url_prefix="/v2")
    api = Api(bp)
    api.add_resource(Serialised, "/serialised")
    app.register_blueprint(bp)
    client = app.test_client()
    assert client.get("/v2/api/serialised").get_json() == {"text": "shown"}
    rv = client.get("/v2/api/missing")
    assert rv.status_code == 404
    assert rv.mimetype == "application/problem+json"
    assert client.get("/v2/elsewhere").mimetype == "text/html"


def test_adding_something_that_is_not_a_resource_is_a_type_error(app: erlen.Erlen) -> None:
    api = Api(app)
    with pytest.raises(TypeError, match="is not a subclass of erlen.ext.rest.Resource"):
        api.add_resource(erlen.views.MethodView, "/x")  # type: ignore[arg-type]


def test_adding_a_resource_without_urls_is_a_type_error(app: erlen.Erlen) -> None:
    with pytest.raises(TypeError, match="needs at least one URL"):
        Api(app).add_resource(Serialised)


def test_unresolvable_annotations_fail_at_registration(app: erlen.Erlen) -> None:
    class Broken(Resource):
        def post(self, data: NotDefinedAnywhere) -> None:  # type: ignore[name-defined]  # noqa: F821
            return None

    with pytest.raises(TypeError, match="Could not resolve the annotations of"):
        Api(app).add_resource(Broken, "/broken")


def test_decorator_without_a_parameter_to_fill_fails_at_registration(app: erlen.Erlen) -> None:
    class NoParameter(Resource):
        @body(Greeting)
        def post(self) -> None:
            return None

    with pytest.raises(TypeError, match="has no parameter 'body'"):
        Api(app).add_resource(NoParameter, "/x")


def test_two_unmarked_model_parameters_fail_at_registration(app: erlen.Erlen) -> None:
    class TwoModels(Resource):
        def post(self, first: Greeting, second: Hidden) -> None:
            return None

    with pytest.raises(TypeError, match="more than one model parameter"):
        Api(app).add_resource(TwoModels, "/x")
