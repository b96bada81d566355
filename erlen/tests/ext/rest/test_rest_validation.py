"""Bad input gets a clear 4xx problem: never a 500, never silently accepted."""

from __future__ import annotations

import typing as t

import pytest
from pydantic import BaseModel
from pydantic import ConfigDict
from rest_sample import Store

import erlen
from erlen.ext.rest import Api
from erlen.ext.rest import Resource
from erlen.testing import FlaskClient


def problem(rv: t.Any) -> dict[str, t.Any]:
    """The problem body of a response, after checking it is one."""
    assert rv.mimetype == "application/problem+json"
    data: dict[str, t.Any] = rv.get_json(force=True)
    assert data["status"] == rv.status_code
    return data


def test_invalid_json_is_a_400_problem(api_client: FlaskClient) -> None:
    rv = api_client.post("/api/things", data='{"name": ', content_type="application/json")
    assert rv.status_code == 400
    assert problem(rv)["detail"].startswith("The request body is not valid JSON")


def test_empty_json_body_is_a_400_problem(api_client: FlaskClient) -> None:
    rv = api_client.post("/api/things", data="", content_type="application/json")
    assert rv.status_code == 400


def test_body_that_is_not_utf8_is_a_400_problem(api_client: FlaskClient) -> None:
    rv = api_client.post("/api/things", data=b'{"name": "\xff"}', content_type="application/json")
    assert rv.status_code == 400
    problem(rv)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_body_that_is_not_json_is_a_415_problem(api_client: FlaskClient, content_type: str) -> None:
    rv = api_client.post("/api/things", data='{"name": "lamp"}', content_type=content_type)
    assert rv.status_code == 415
    assert "application/json" in problem(rv)["detail"]


def test_body_without_a_content_type_is_a_415_problem(api_client: FlaskClient) -> None:
    rv = api_client.post("/api/things", data='{"name": "lamp"}')
    assert rv.status_code == 415


def test_vendor_json_media_types_are_accepted(api_client: FlaskClient) -> None:
    rv = api_client.post(
        "/api/things", data='{"name": "lamp"}', content_type="application/vnd.things+json"
    )
    assert rv.status_code == 201


def test_wrong_types_are_a_422_problem_naming_each_field(api_client: FlaskClient) -> None:
    rv = api_client.post("/api/things", json={"name": 5, "quantity": "many"})
    assert rv.status_code == 422
    errors = problem(rv)["errors"]
    assert [error["loc"] for error in errors] == [["body", "name"], ["body", "quantity"]]
    assert {error["type"] for error in errors} == {"string_type", "int_type"}
    assert all(error["msg"] for error in errors)


def test_json_types_are_not_coerced(api_client: FlaskClient) -> None:
    # The document says integer: a string of digits or a boolean is not one.
    for value in ("5", True):
        rv = api_client.post("/api/things", json={"name": "lamp", "quantity": value})
        assert rv.status_code == 422, value


def test_integral_numbers_written_with_a_fraction_are_integers(api_client: FlaskClient) -> None:
    # JSON Schema counts 3.0 as an integer, so the API does too; 3.5 is not one.
    rv = api_client.post("/api/things", json={"name": "lamp", "quantity": 3.0})
    assert rv.status_code == 201
    assert rv.get_json()["quantity"] == 3
    rv = api_client.post("/api/things", json={"name": "lamp", "quantity": 3.5})
    assert rv.status_code == 422


def test_missing_required_field_is_a_422_problem(api_client: FlaskClient) -> None:
    rv = api_client.post("/api/things", json={"quantity": 1})
    assert rv.status_code == 422
    assert problem(rv)["errors"][0] == {
        "loc": ["body", "name"],
        "msg": "Field required",
        "type": "missing",
    }


def test_unknown_fields_are_rejected_when_the_model_forbids_extras(
    api_client: FlaskClient,
) -> None:
    rv = api_client.post("/api/things", json={"name": "lamp", "colour": "red"})
    assert rv.status_code == 422
    assert problem(rv)["errors"][0]["loc"] == ["body", "colour"]
    assert problem(rv)["errors"][0]["type"] == "extra_forbidden"


def test_body_of_the_wrong_shape_is_a_422_problem(api_client: FlaskClient) -> None:
    rv = api_client.post("/api/things", json=["lamp"])
    assert rv.status_code == 422
    assert problem(rv)["errors"][0]["loc"] == ["body"]


def test_errors_do_not_echo_the_input_back(api_client: FlaskClient) -> None:
    secret = "x" * 500
    rv = api_client.post("/api/things", json={"name": secret})
    assert rv.status_code == 422
    assert secret not in rv.get_data(as_text=True)
    assert set(problem(rv)["errors"][0]) == {"loc", "msg", "type"}


def test_rejected_body_changes_nothing(api_client: FlaskClient, store: Store) -> None:
    api_client.post("/api/things", json={"name": "lamp", "quantity": -1})
    api_client.put("/api/things/1", json={"name": ""})
    assert store.list() == []


@pytest.mark.parametrize(
    "query_string",
    [
        "per_page=101",
        "per_page=0",
        "per_page=99999999999999999999999999999",
        "page=0",
        "page=-1",
        "page=99999999999999999999999999999",
        "page=" + "9" * 5000,
        "page=two",
        "page=1.5",
    ],
)
def test_out_of_range_pages_are_a_422_problem(api_client: FlaskClient, query_string: str) -> None:
    rv = api_client.get(f"/api/things?{query_string}")
    assert rv.status_code == 422
    assert problem(rv)["errors"][0]["loc"][0] == "query"


def test_unknown_query_arguments_are_rejected_when_the_model_forbids_extras(
    api_client: FlaskClient,
) -> None:
    rv = api_client.get("/api/things?colour=red")
    assert rv.status_code == 422
    assert problem(rv)["errors"][0]["loc"] == ["query", "colour"]


def test_path_values_the_converter_refuses_are_a_404_problem(api_client: FlaskClient) -> None:
    rv = api_client.get("/api/things/not-a-number")
    assert rv.status_code == 404
    problem(rv)


class Lenient(BaseModel):
    model_config = ConfigDict(strict=False)

    count: int


class StrictQuery(BaseModel):
    model_config = ConfigDict(strict=True)

    count: int = 0


class Configured(Resource):
    def get(self, params: StrictQuery) -> dict[str, int]:
        return {"count": params.count}

    def post(self, data: Lenient) -> dict[str, int]:
        return {"count": data.count}


@pytest.fixture
def configured(app: erlen.Erlen) -> FlaskClient:
    Api(app).add_resource(Configured, "/configured")
    return app.test_client()


def test_a_model_that_sets_strict_false_accepts_coercible_json(configured: FlaskClient) -> None:
    rv = configured.post("/api/configured", json={"count": "5"})
    assert rv.get_json() == {"count": 5}


def test_query_values_are_coerced_from_text_even_for_strict_models(
    configured: FlaskClient,
) -> None:
    assert configured.get("/api/configured?count=7").get_json() == {"count": 7}
