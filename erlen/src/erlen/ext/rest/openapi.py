"""An OpenAPI 3.1 document built from registered resources and their pydantic models.

Paths come from the URL rules (converters become typed path parameters), operations from the
resource methods' :class:`~erlen.ext.rest.validation.Operation`, and ``components/schemas``
from pydantic's JSON Schema, with every model's ``$defs`` gathered there under one name each.
"""

from __future__ import annotations

import re
import typing as t
from collections.abc import Iterable

from pydantic import TypeAdapter
from werkzeug.routing import AnyConverter
from werkzeug.routing import BaseConverter
from werkzeug.routing import FloatConverter
from werkzeug.routing import IntegerConverter
from werkzeug.routing import PathConverter
from werkzeug.routing import Rule
from werkzeug.routing import UUIDConverter

from ..problems import PROBLEM_MIMETYPE
from ..problems import status_title
from .problems import Problem
from .problems import ValidationProblem
from .validation import Operation

if t.TYPE_CHECKING:  # pragma: no cover
    from .resource import Resource

#: The OpenAPI version of the generated document.
OPENAPI_VERSION = "3.1.0"

_REF_TEMPLATE = "#/components/schemas/{model}"
_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([A-Za-z_][A-Za-z0-9_]*)>")
# Methods in the order readers expect; HEAD and OPTIONS are answered but not documented.
_METHOD_ORDER = ("get", "put", "post", "patch", "delete")

Json = dict[str, t.Any]


def openapi_path(rule: str) -> str:
    """Rewrite a werkzeug rule (``/things/<int:id>``) as an OpenAPI path (``/things/{id}``)."""
    return _VARIABLE.sub(r"{\1}", rule)


def converter_schema(converter: BaseConverter) -> Json:
    """The JSON Schema of the values a URL converter accepts."""
    schema: Json
    if isinstance(converter, (IntegerConverter, FloatConverter)):
        schema = {"type": "integer" if isinstance(converter, IntegerConverter) else "number"}
        # Unsigned converters don't match a minus sign at all.
        lower = converter.min if converter.min is not None else (None if converter.signed else 0)
        if lower is not None:
            schema["minimum"] = lower
        if converter.max is not None:
            schema["maximum"] = converter.max
    elif isinstance(converter, UUIDConverter):
        schema = {"type": "string", "format": "uuid"}
    elif isinstance(converter, AnyConverter):
        schema = {"type": "string", "enum": sorted(converter.items)}
    elif isinstance(converter, PathConverter):
        schema = {"type": "string"}
    else:
        schema = {"type": "string", "pattern": f"^{converter.regex}$"}
    return schema


def _path_parameters(rule: Rule) -> list[Json]:
    # werkzeug keeps the converters of a rule only under this name.
    converters: dict[str, BaseConverter] = getattr(rule, "_converters", {})
    names = _VARIABLE.findall(rule.rule)
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": converter_schema(converters[name]) if name in converters else {},
        }
        for name in names
    ]


def _query_parameters(schema: Json, components: Json) -> list[Json]:
    """One parameter per property of the query model's schema."""
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = components.get(ref.rsplit("/", 1)[1], {})
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        parameter: Json = {"name": name, "in": "query", "required": name in required}
        description = prop.pop("description", None)
        if description:
            parameter["description"] = description
        parameter["schema"] = _without_null(prop)
        parameters.append(parameter)
    return parameters


def _without_null(schema: Json) -> Json:
    """A query value is never ``null`` (absent means ``None``), so drop that alternative."""
    schema = {k: v for k, v in schema.items() if k != "title"}
    branches = schema.get("anyOf")
    if not branches or {"type": "null"} not in branches:
        return schema
    if schema.get("default", ...) is None:
        del schema["default"]
    rest = [branch for branch in branches if branch != {"type": "null"}]
    del schema["anyOf"]
    if len(rest) == 1:
        return {**rest[0], **schema}
    return {**schema, "anyOf": rest}


def _problem_response(status: int, schema: Json) -> Json:
    return {"description": status_title(status), "content": {PROBLEM_MIMETYPE: {"schema": schema}}}


def _operation_id(method: str, endpoint: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", f"{method}_{endpoint}")
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}_{n}"
    used.add(candidate)
    return candidate


def build_document(
    routes: Iterable[tuple[Rule, type[Resource]]],
    *,
    title: str,
    version: str,
    description: str | None = None,
    servers: list[Json] | None = None,
) -> Json:
    """Build the OpenAPI document for ``routes``, pairs of a URL rule and its resource class.

    :param title: ``info.title``.
    :param version: ``info.version``, the version of the API (not of OpenAPI).
    :param description: ``info.description``.
    :param servers: ``servers``, e.g. ``[{"url": "/prefix"}]`` when mounted under a path.
    """
    found: list[tuple[Rule, type[Resource], str, Operation]] = []
    inputs: list[tuple[tuple[int, str], t.Literal["validation", "serialization"], t.Any]] = []
    for rule, resource in routes:
        methods = {m.lower() for m in rule.methods or ()}
        for method in _METHOD_ORDER:
            operation = resource.operation(method) if method in methods else None
            if operation is None:
                continue
            key = len(found)
            found.append((rule, resource, method, operation))
            if operation.body is not None:
                inputs.append(((key, "body"), "validation", operation.body.adapter))
            if operation.query is not None:
                inputs.append(((key, "query"), "validation", operation.query.adapter))
            if operation.response is not None:
                inputs.append(((key, "response"), "serialization", operation.response))
    inputs.append(((-1, "problem"), "serialization", TypeAdapter(Problem)))
    inputs.append(((-1, "validation"), "serialization", TypeAdapter(ValidationProblem)))

    schemas, defs = TypeAdapter.json_schemas(inputs, ref_template=_REF_TEMPLATE)
    components: Json = dict(defs.get("$defs", {}))
    problem = schemas[(-1, "problem"), "serialization"]
    validation_problem = schemas[(-1, "validation"), "serialization"]

    paths: dict[str, Json] = {}
    tags: dict[str, Json] = {}
    used_ids: set[str] = set()
    for key, (rule, resource, method, operation) in enumerate(found):
        path_parameters = _path_parameters(rule)
        tag = resource.__name__
        if tag not in tags:
            tags[tag] = {"name": tag}
            summary = (resource.__doc__ or "").strip().split("\n\n")[0]
            if summary:
                tags[tag]["description"] = " ".join(summary.split())

        item: Json = {
            "tags": [tag],
            "operationId": _operation_id(method, rule.endpoint, used_ids),
        }
        if operation.summary:
            item["summary"] = operation.summary
        if operation.description:
            item["description"] = operation.description

        parameters = list(path_parameters)
        if operation.query is not None:
            parameters += _query_parameters(schemas[(key, "query"), "validation"], components)
        if parameters:
            item["parameters"] = parameters
        if operation.body is not None:
            item["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schemas[(key, "body"), "validation"]}},
            }

        success: Json = {
            "description": operation.response_description or status_title(operation.status)
        }
        if operation.response is not None:
            schema = schemas[(key, "response"), "serialization"]
            success["content"] = {"application/json": {"schema": schema}}
        elif not operation.declared_response:
            # Undeclared: some JSON value, shape unknown.
            success["content"] = {"application/json": {"schema": {}}}
        responses: Json = {str(operation.status): success}

        problems = set(operation.errors)
        if path_parameters:
            problems.add(404)
        if operation.body is not None:
            problems.update((400, 415, 422))
        if operation.query is not None:
            problems.add(422)
        for status in sorted(problems):
            schema = validation_problem if status == 422 else problem
            responses.setdefault(str(status), _problem_response(status, schema))
        item["responses"] = responses

        paths.setdefault(openapi_path(rule.rule), {})[method] = item

    info: Json = {"title": title, "version": version}
    if description:
        info["description"] = description
    document: Json = {"openapi": OPENAPI_VERSION, "info": info}
    if servers:
        document["servers"] = servers
    document["paths"] = paths
    document["components"] = {"schemas": components}
    if tags:
        document["tags"] = list(tags.values())
    return document
