"""The :class:`Resource` base class: a method view whose methods take and return typed data."""

from __future__ import annotations

import typing as t

from werkzeug.exceptions import MethodNotAllowed

from ...globals import current_request_context
from ...globals import request
from ...views import MethodView
from .validation import describe
from .validation import Operation


class Resource(MethodView):
    """A REST resource: define ``get``, ``post``, ``put``, ``patch`` or ``delete``.

    Each method receives the URL variables as keyword arguments, plus the validated body and
    query declared with :func:`~erlen.ext.rest.body` and :func:`~erlen.ext.rest.query` or with
    model annotations. It returns a pydantic model, a dict, a list (of models), ``None``
    (``204 No Content``), or a ``(body, status[, headers])`` tuple.

    .. code-block:: python

        @api.resource("/things/<int:id>")
        class ThingItem(Resource):
            def get(self, id: int) -> ThingOut:
                return store.get_or_404(id)

            @response(None, status=204)
            def delete(self, id: int) -> None:
                store.delete(id)
    """

    @classmethod
    def operation(cls, method: str) -> Operation | None:
        """The :class:`~erlen.ext.rest.validation.Operation` for a lower-case HTTP method."""
        func = getattr(cls, method, None)
        if func is None:
            return None
        return describe(func, method)

    def dispatch_request(self, **kwargs: t.Any) -> t.Any:
        """Validate the request, call the method for its HTTP method, serialise the result."""
        ctx = current_request_context()
        req = request if ctx is None else ctx.request
        method = req.method.lower()
        if method == "head" and getattr(self, "head", None) is None:
            method = "get"
        operation = type(self).operation(method)
        if operation is None:
            raise MethodNotAllowed(valid_methods=sorted(type(self).methods or ()))

        operation.bind(req, kwargs)
        handler = getattr(self, method)
        app = ctx.app if ctx is not None else None
        if app is not None:
            handler = app.ensure_sync(handler)
        return operation.make_response(handler(**kwargs))
