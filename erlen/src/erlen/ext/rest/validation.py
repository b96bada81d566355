"""Typed request validation and response serialisation for resource methods.

A resource method says what it reads and returns, either with decorators::

    @body(ThingIn)
    @response(ThingOut, status=201)
    def post(self, body): ...

or with annotations, which the decorators may refine::

    def post(self, data: ThingIn) -> ThingOut: ...   # a model parameter is the JSON body
    def get(self, params: ListParams) -> Page[ThingOut]: ...  # ...or, for GET, the query

:func:`describe` reads those declarations once per method into an :class:`Operation`, which
validates each request (:meth:`Operation.bind`) and serialises each return value
(:meth:`Operation.make_response`); :mod:`.openapi` documents the same object.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import inspect
import json
import types
import typing as t
import weakref

from pydantic import BaseModel
from pydantic import TypeAdapter
from pydantic import ValidationError
from pydantic_core import to_jsonable_python
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.wrappers import Response as BaseResponse

from ...globals import get_app
from ...wrappers import Request
from ...wrappers import Response
from .problems import RequestValidationError

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: Methods whose model parameter, when only annotated, is the JSON body; for the others it
#: is the query string.
BODY_METHODS = frozenset(["post", "put", "patch"])

# The function attribute the decorators fill in; functools.wraps copies it along.
_DECLARED = "__erlen_rest__"
_UNSET: t.Any = object()


@dataclasses.dataclass
class _Declared:
    """What the decorators said about one method, before :func:`describe` reads it."""

    body: t.Any = _UNSET
    body_name: str | None = None
    query: type[BaseModel] | None = None
    query_name: str | None = None
    response: t.Any = _UNSET
    status: int | None = None
    description: str | None = None
    errors: tuple[int, ...] = ()


def _declared(func: t.Callable[..., t.Any]) -> _Declared:
    info = func.__dict__.get(_DECLARED)
    if info is None:
        info = func.__dict__[_DECLARED] = _Declared()
    return t.cast(_Declared, info)


def body(model: t.Any, *, name: str | None = None) -> t.Callable[[F], F]:
    """Validate the JSON request body with ``model`` and pass it to the method.

    The value arrives as the keyword argument ``name``; without one, as the parameter annotated
    with ``model``, or else as ``body``. A request that isn't JSON gets a 415 problem, malformed
    JSON a 400 problem, and data the model rejects a 422 problem listing each field.

    :param model: A pydantic model, or any type pydantic validates (``list[ThingIn]``).
    :param name: The parameter that receives the validated value.
    """

    def decorator(func: F) -> F:
        info = _declared(func)
        info.body, info.body_name = model, name
        return func

    return decorator


def query(model: type[BaseModel], *, name: str | None = None) -> t.Callable[[F], F]:
    """Validate the query string with the fields of ``model`` and pass it to the method.

    A field typed as a list reads every value of a repeated argument; other fields read the
    first. Unknown arguments are rejected when the model forbids extras. The value arrives as
    ``name``, the parameter annotated with ``model``, or ``query``.
    """

    def decorator(func: F) -> F:
        info = _declared(func)
        info.query, info.query_name = model, name
        return func

    return decorator


def response(
    model: t.Any, *, status: int = 200, description: str | None = None
) -> t.Callable[[F], F]:
    """Serialise the method's return value through ``model`` and document it.

    The method may return an instance of ``model``, a dict, or any object with the model's
    attributes (an ORM row); the response has only the model's fields. A bare return value is
    sent with ``status``; a ``(body, status[, headers])`` tuple still sets its own.

    :param model: A pydantic model or type (``list[ThingOut]``), or ``None`` for no body.
    :param status: The success status, e.g. ``201`` for a create, ``204`` with ``None``.
    :param description: Describes the response in the OpenAPI document.
    """

    def decorator(func: F) -> F:
        info = _declared(func)
        info.response, info.status, info.description = model, status, description
        return func

    return decorator


def error_responses(*statuses: int) -> t.Callable[[F], F]:
    """Document the problem statuses a method may answer with, such as ``409``.

    Validation (``400``, ``415``, ``422``) and unknown ids (``404`` when the URL has
    parameters) are documented without this.
    """

    def decorator(func: F) -> F:
        info = _declared(func)
        info.errors = (*info.errors, *statuses)
        return func

    return decorator


@dataclasses.dataclass(frozen=True)
class Binding:
    """A validated input: the keyword it is passed as, and its type."""

    name: str
    type: t.Any
    adapter: TypeAdapter[t.Any]
    #: ``True`` to validate JSON strictly; ``None`` when the model's own config decides.
    strict: bool | None = None


def _is_model(value: t.Any) -> t.TypeGuard[type[BaseModel]]:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _strip_annotated(tp: t.Any) -> t.Any:
    if t.get_origin(tp) is t.Annotated:
        return t.get_args(tp)[0]
    return tp


def _response_from_annotation(tp: t.Any) -> t.Any:
    """The return annotation as a response model, if it is one (``Thing``, ``list[Thing]``)."""
    tp = _strip_annotated(tp)
    if _is_model(tp):
        return tp
    if t.get_origin(tp) is list:
        args = t.get_args(tp)
        if len(args) == 1 and _is_model(args[0]):
            return tp
    return None


_SEQUENCE_ORIGINS = (list, tuple, set, frozenset, cabc.Sequence, cabc.Set)


def _is_sequence(tp: t.Any) -> bool:
    """Whether a query field takes several values (``list[str]``, ``set[int] | None``)."""
    tp = _strip_annotated(tp)
    origin = t.get_origin(tp)
    if origin in (t.Union, types.UnionType):
        return any(_is_sequence(arg) for arg in t.get_args(tp))
    return origin in _SEQUENCE_ORIGINS or tp in (list, tuple, set, frozenset)


def _body_binding(name: str, tp: t.Any) -> Binding:
    # JSON has real types, so the body must use them: an integer field takes no "5" and no
    # false, exactly as the OpenAPI document says. A model that sets ``strict`` decides itself.
    strict = None if _is_model(tp) and "strict" in tp.model_config else True
    return Binding(name, tp, TypeAdapter(tp), strict)


_INT_ERRORS = frozenset(["int_type", "int_from_float"])


def _integral_floats_as_ints(raw: bytes) -> bytes | None:
    """Rewrite ``3.0`` as ``3`` throughout a JSON document; ``None`` if there was none."""
    changed = False

    def parse_float(text: str) -> float | int:
        nonlocal changed
        value = float(text)
        if value.is_integer():
            changed = True
            return int(value)
        return value

    try:
        data = json.loads(raw, parse_float=parse_float)
    except ValueError:
        return None
    return json.dumps(data).encode() if changed else None


def _field_errors(exc: ValidationError, source: str) -> list[dict[str, t.Any]]:
    # No input values or context: they may echo large or sensitive data back to the client.
    return [
        {"loc": [source, *error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


@dataclasses.dataclass(frozen=True)
class Operation:
    """One resource method's contract: its inputs, its response, and its documentation."""

    func: t.Callable[..., t.Any]
    method: str
    body: Binding | None
    query: Binding | None
    #: The response type, or ``None`` when undeclared (any JSON) or declared without a body.
    response: TypeAdapter[t.Any] | None
    response_type: t.Any
    status: int
    #: Whether ``status``/``response`` were declared, so ``None`` means "no content".
    declared_response: bool
    response_description: str | None
    errors: tuple[int, ...]
    summary: str | None
    description: str | None
    query_sequences: frozenset[str] = frozenset()

    # -- requests ----------------------------------------------------------------------------

    def bind(self, request: Request, kwargs: dict[str, t.Any]) -> None:
        """Validate the request's query and body into ``kwargs`` (raising 4xx errors)."""
        if self.query is not None:
            kwargs[self.query.name] = self._read_query(request.args)
        if self.body is not None:
            kwargs[self.body.name] = self._read_body(request)

    def _read_query(self, args: MultiDict[str, str]) -> t.Any:
        assert self.query is not None
        data: dict[str, t.Any] = {}
        for key in args.keys():
            # Scalars read the first value, like ``request.args.get``.
            data[key] = args.getlist(key) if key in self.query_sequences else args[key]
        try:
            # Query values are text: "5" must be able to become 5, whatever the model says.
            return self.query.adapter.validate_python(data, strict=False)
        except ValidationError as e:
            raise RequestValidationError(
                _field_errors(e, "query"), "The query string failed validation."
            ) from None

    def _read_body(self, request: Request) -> t.Any:
        assert self.body is not None
        if not request.is_json:
            raise UnsupportedMediaType(
                "The request body must be JSON, sent with 'Content-Type: application/json'."
            )
        raw = request.get_data(cache=True)
        adapter, strict = self.body.adapter, self.body.strict
        try:
            return adapter.validate_json(raw, strict=strict)
        except ValidationError as e:
            error = e
        first = error.errors(include_url=False, include_context=False, include_input=False)[0]
        if first["type"] == "json_invalid":
            raise BadRequest(f"The request body is not valid JSON: {first['msg']}.") from None
        if strict and _INT_ERRORS & {err["type"] for err in error.errors()}:
            # JSON Schema counts 3.0 as an integer, strict pydantic doesn't: retry with
            # integral numbers written as integers.
            normalised = _integral_floats_as_ints(raw)
            if normalised is not None:
                try:
                    return adapter.validate_json(normalised, strict=strict)
                except ValidationError as e:
                    error = e
        raise RequestValidationError(
            _field_errors(error, "body"), "The request body failed validation."
        ) from None

    # -- responses ---------------------------------------------------------------------------

    def make_response(self, rv: t.Any) -> t.Any:
        """Turn the method's return value into a response (or something the app converts)."""
        if isinstance(rv, BaseResponse):
            return rv
        status: t.Any = None
        headers: t.Any = None
        if isinstance(rv, tuple):
            if len(rv) == 3:
                rv, status, headers = rv
            elif len(rv) == 2 and isinstance(rv[1], (int, str)):
                rv, status = rv
            elif len(rv) == 2:
                rv, headers = rv
            else:
                raise TypeError(
                    "A resource method must return a body, or a tuple of the form"
                    " (body, status), (body, headers) or (body, status, headers)."
                )
        if status is None:
            status = self.status if self.declared_response or rv is not None else 204

        if rv is None:
            response = Response(status=status)
        elif self.response is not None:
            value = self.response.validate_python(rv, from_attributes=True)
            response = Response(
                self.response.dump_json(value, by_alias=True),
                status=status,
                mimetype="application/json",
            )
        elif isinstance(rv, BaseModel):
            response = Response(
                rv.model_dump_json(by_alias=True), status=status, mimetype="application/json"
            )
        elif isinstance(rv, (dict, list)):
            data = to_jsonable_python(rv, by_alias=True)
            # The app's JSON provider builds the app's response class.
            response = t.cast(Response, get_app("Api").json.response(data))
            if isinstance(status, int):
                response.status_code = status
            else:
                response.status = status
        else:
            # Strings, iterators, WSGI apps: the app knows how to convert those.
            return rv if headers is None else (rv, status, headers)
        if headers:
            response.headers.update(headers)
        return response


# Operations are described once per (function, HTTP method) and kept while the class lives.
_operations: weakref.WeakKeyDictionary[t.Callable[..., t.Any], dict[str, Operation]] = (
    weakref.WeakKeyDictionary()
)


def _qualname(func: t.Callable[..., t.Any]) -> str:
    return getattr(func, "__qualname__", repr(func))


def describe(func: t.Callable[..., t.Any], method: str) -> Operation:
    """Read the declarations of a resource method into an :class:`Operation` (cached).

    :param func: The method, as found on the class.
    :param method: The lower-case HTTP method it handles (``"get"``).
    :raises TypeError: If the annotations can't be resolved or the declarations conflict.
    """
    by_method = _operations.get(func)
    if by_method is None:
        by_method = _operations[func] = {}
    operation = by_method.get(method)
    if operation is None:
        operation = by_method[method] = _describe(func, method)
    return operation


def _describe(func: t.Callable[..., t.Any], method: str) -> Operation:
    try:
        hints = t.get_type_hints(func, include_extras=True)
    except Exception as e:
        raise TypeError(
            f"Could not resolve the annotations of {_qualname(func)}: {e}. Models used in"
            " annotations must be importable from the module that defines the resource."
        ) from e
    signature = inspect.signature(func)
    params = [p for p in signature.parameters.values() if p.name != "self"]
    names = {p.name for p in params}
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params)
    info: _Declared = func.__dict__.get(_DECLARED) or _Declared()

    def parameter_for(model: t.Any, name: str | None, default: str) -> str:
        if name is None:
            annotated = [p.name for p in params if _strip_annotated(hints.get(p.name)) == model]
            name = annotated[0] if annotated else default
        if name not in names and not takes_kwargs:
            raise TypeError(
                f"{_qualname(func)} has no parameter {name!r} to receive the validated"
                f" {default}; add one, or pass 'name=' to @{default}()."
            )
        return name

    body_binding: Binding | None = None
    query_binding: Binding | None = None
    if info.body is not _UNSET:
        name = parameter_for(info.body, info.body_name, "body")
        body_binding = _body_binding(name, info.body)
    if info.query is not None:
        name = parameter_for(info.query, info.query_name, "query")
        query_binding = Binding(name, info.query, TypeAdapter(info.query))

    bound = {b.name for b in (body_binding, query_binding) if b is not None}
    for param in params:
        model = _strip_annotated(hints.get(param.name))
        if param.name in bound or not _is_model(model):
            continue
        if method in BODY_METHODS and body_binding is None:
            body_binding = _body_binding(param.name, model)
        elif method not in BODY_METHODS and query_binding is None:
            query_binding = Binding(param.name, model, TypeAdapter(model))
        else:
            raise TypeError(
                f"{_qualname(func)} has more than one model parameter; mark the extra one"
                " with @body() or @query()."
            )

    query_sequences: set[str] = set()
    if query_binding is not None:
        model = query_binding.type
        if not _is_model(model):
            raise TypeError(f"The query of {_qualname(func)} must be a pydantic model.")
        for field_name, field in model.model_fields.items():
            alias = field.validation_alias if isinstance(field.validation_alias, str) else None
            key = alias or field.alias or field_name
            if _is_sequence(field.annotation):
                query_sequences.add(key)

    if info.response is not _UNSET:
        response_type = info.response
        declared = True
    else:
        response_type = _response_from_annotation(hints.get("return"))
        declared = False
    adapter = TypeAdapter(response_type) if response_type is not None else None

    doc = inspect.getdoc(func)
    summary = description = None
    if doc:
        summary, _, rest = doc.partition("\n\n")
        summary = " ".join(summary.split())
        description = rest.strip() or None

    return Operation(
        func=func,
        method=method,
        body=body_binding,
        query=query_binding,
        response=adapter,
        response_type=response_type,
        status=info.status if info.status is not None else 200,
        declared_response=declared,
        response_description=info.description,
        errors=info.errors,
        summary=summary,
        description=description,
        query_sequences=frozenset(query_sequences),
    )
