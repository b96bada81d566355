"""The OpenAPI 3.1 document: valid, and a faithful description of the resources."""

from __future__ import annotations

import json
import typing as t
import uuid

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel
from pydantic import Field

import erlen
from erlen.ext.rest import Api
from erlen.ext.rest import error_responses
from erlen.ext.rest import query
from erlen.ext.rest import Resource
from erlen.ext.rest import response
from erlen.testing import FlaskClient

Json = dict[str, t.Any]


@pytest.fixture
def document(api_client: FlaskClient) -> Json:
    rv = api_client.get("/api/openapi.json")
    assert rv.status_code == 200
    assert rv.mimetype == "application/json"
    data: Json = rv.get_json()
    return data


def all_refs(node: t.Any) -> t.Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from all_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_refs(value)


def test_document_is_valid_openapi_3_1(document: Json) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {
        "title": "Things",
        "version": "1.0.0",
        "description": "A sample API.",
    }


def test_paths_use_openapi_templates_and_list_each_method(document: Json) -> None:
    assert set(document["paths"]) == {"/api/things", "/api/things/{id}"}
    assert set(document["paths"]["/api/things"]) == {"get", "post"}
    assert set(document["paths"]["/api/things/{id}"]) == {"get", "put", "patch", "delete"}


def test_int_converter_becomes_a_required_integer_path_parameter(document: Json) -> None:
    (parameter,) = document["paths"]["/api/things/{id}"]["get"]["parameters"]
    assert parameter == {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }


def test_query_model_fields_become_query_parameters(document: Json) -> None:
    parameters = {p["name"]: p for p in document["paths"]["/api/things"]["get"]["parameters"]}
    assert set(parameters) == {"page", "per_page", "name"}
    assert all(p["in"] == "query" and p["required"] is False for p in parameters.values())
    assert parameters["per_page"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 20,
    }
    # Absent means None: a query value is never null, so that alternative isn't offered.
    assert parameters["name"]["schema"] == {"type": "string", "maxLength": 100}
    assert parameters["name"]["description"] == "Only names containing this."


def test_request_body_references_the_model_schema(document: Json) -> None:
    body = document["paths"]["/api/things"]["post"]["requestBody"]
    assert body == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ThingIn"}}},
    }
    thing_in = document["components"]["schemas"]["ThingIn"]
    assert thing_in["additionalProperties"] is False
    assert thing_in["required"] == ["name"]


def test_responses_document_success_and_problems(document: Json) -> None:
    post = document["paths"]["/api/things"]["post"]["responses"]
    assert set(post) == {"201", "400", "415", "422"}
    assert post["201"]["description"] == "The new thing."
    assert post["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ThingOut"
    }
    assert post["400"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    assert post["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationProblem"
    }
    assert set(document["paths"]["/api/things"]["get"]["responses"]) == {"200", "422"}


def test_no_content_response_has_no_body_and_ids_can_be_missing(document: Json) -> None:
    delete = document["paths"]["/api/things/{id}"]["delete"]["responses"]
    assert set(delete) == {"204", "404"}
    assert "content" not in delete["204"]


def test_generic_page_model_gets_a_component_name_openapi_accepts(document: Json) -> None:
    get = document["paths"]["/api/things"]["get"]["responses"]["200"]
    ref = get["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/Page_ThingOut_"
    page = document["components"]["schemas"]["Page_ThingOut_"]
    assert page["properties"]["items"]["items"] == {"$ref": "#/components/schemas/ThingOut"}
    links = document["components"]["schemas"]["PageLinks"]
    assert "self" in links["properties"]


def test_every_ref_points_into_components_and_resolves(document: Json) -> None:
    schemas = document["components"]["schemas"]
    refs = set(all_refs(document))
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref
    assert "$defs" not in json.dumps(document)


def test_operations_have_unique_ids_tags_and_docstring_summaries(document: Json) -> None:
    operations = [op for item in document["paths"].values() for op in item.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    get_list = document["paths"]["/api/things"]["get"]
    assert get_list["summary"] == "List things, a page at a time."
    assert get_list["description"] == "Newest last; filter with ``name``."
    assert get_list["tags"] == ["ThingList"]
    assert {"name": "ThingList", "description": "The collection of things."} in document["tags"]


def test_openapi_method_returns_the_document_for_an_app(api_app: erlen.Erlen) -> None:
    api = next(api for _, api in api_app.extensions["rest"].apis)
    with api_app.app_context():
        assert api.openapi()["info"]["title"] == "Things"
    assert api.openapi(api_app) is api.openapi(api_app)


# -- converters, nesting, blueprints, options ------------------------------------------------


class Address(BaseModel):
    city: str


class Person(BaseModel):
    name: str
    address: Address
    friends: list[Person] = []


class Search(BaseModel):
    tag: list[str] = Field(default_factory=list, description="Repeat to match any.")


class Converters(Resource):
    """Every werkzeug converter."""

    @error_responses(409)
    def get(self, key: uuid.UUID, mode: str, ratio: float, rest: str, name: str) -> Person:
        raise NotImplementedError

    @query(Search)
    @response(list[Person])
    def post(
        self, key: uuid.UUID, mode: str, ratio: float, rest: str, name: str, query: t.Any
    ) -> t.Any:
        raise NotImplementedError


class Untyped(Resource):
    def get(self) -> t.Any:
        return {"anything": True}


@pytest.fixture
def converter_doc(app: erlen.Erlen) -> Json:
    api = Api(app, prefix="/x", title="Converters", version="2")
    api.add_resource(
        Converters,
        "/c/<uuid:key>/<any(fast,slow):mode>/<float:ratio>/<path:rest>/<string(length=3):name>",
    )
    api.add_resource(Untyped, "/untyped")
    data: Json = app.test_client().get("/x/openapi.json").get_json()
    validate(data)
    return data


def test_converters_become_typed_path_parameters(converter_doc: Json) -> None:
    (path,) = [p for p in converter_doc["paths"] if p.startswith("/x/c/")]
    assert path == "/x/c/{key}/{mode}/{ratio}/{rest}/{name}"
    schemas = {p["name"]: p["schema"] for p in converter_doc["paths"][path]["get"]["parameters"]}
    assert schemas == {
        "key": {"type": "string", "format": "uuid"},
        "mode": {"type": "string", "enum": ["fast", "slow"]},
        "ratio": {"type": "number", "minimum": 0},
        "rest": {"type": "string"},
        "name": {"type": "string", "pattern": "^[^/]{3}$"},
    }


def test_nested_and_recursive_models_are_components(converter_doc: Json) -> None:
    schemas = converter_doc["components"]["schemas"]
    assert {"Person", "Address"} <= set(schemas)
    person = schemas["Person"]["properties"]
    assert person["address"] == {"$ref": "#/components/schemas/Address"}
    assert person["friends"]["items"] == {"$ref": "#/components/schemas/Person"}


def test_list_response_and_list_query_parameters(converter_doc: Json) -> None:
    (item,) = [v for p, v in converter_doc["paths"].items() if p.startswith("/x/c/")]
    ok = item["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"type": "array", "items": {"$ref": "#/components/schemas/Person"}}
    (tag,) = [p for p in item["post"]["parameters"] if p["in"] == "query"]
    assert tag["schema"]["type"] == "array"
    assert tag["description"] == "Repeat to match any."


def test_declared_error_statuses_are_documented(converter_doc: Json) -> None:
    (item,) = [v for p, v in converter_doc["paths"].items() if p.startswith("/x/c/")]
    assert set(item["get"]["responses"]) == {"200", "404", "409"}


def test_undeclared_responses_are_any_json(converter_doc: Json) -> None:
    ok = converter_doc["paths"]["/x/untyped"]["get"]["responses"]["200"]
    assert ok["content"] == {"application/json": {"schema": {}}}
    assert "parameters" not in converter_doc["paths"]["/x/untyped"]["get"]


def test_document_covers_blueprint_prefixes(app: erlen.Erlen) -> None:
    bp = erlen.Blueprint("v3", __name__, url_prefix="/v3")
    api = Api(bp, prefix="")
    api.add_resource(Untyped, "/untyped")
    app.register_blueprint(bp)
    data = app.test_client().get("/v3/openapi.json").get_json()
    assert set(data["paths"]) == {"/v3/untyped"}


def test_document_lists_servers_when_mounted_under_a_script_root(app: erlen.Erlen) -> None:
    Api(app).add_resource(Untyped, "/untyped")
    rv = app.test_client().get("/api/openapi.json", base_url="http://localhost/mounted")
    assert rv.get_json()["servers"] == [{"url": "/mounted"}]
    assert "servers" not in app.test_client().get("/api/openapi.json").get_json()


def test_resources_added_later_appear_in_the_document(app: erlen.Erlen) -> None:
    api = Api(app)
    api.add_resource(Untyped, "/one")
    assert set(api.openapi(app)["paths"]) == {"/api/one"}
    api.add_resource(Untyped, "/two", endpoint="two")
    assert set(api.openapi(app)["paths"]) == {"/api/one", "/api/two"}


def test_openapi_path_none_serves_no_document_and_no_docs(app: erlen.Erlen) -> None:
    Api(app, openapi_path=None).add_resource(Untyped, "/untyped")
    client = app.test_client()
    assert client.get("/api/openapi.json").status_code == 404
    assert client.get("/api/docs").status_code == 404
    assert client.get("/api/untyped").status_code == 200
