"""The :class:`Api` extension: registers resources under a prefix, answers their errors as
problem details, and serves the OpenAPI document and a docs page."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import string
import typing as t
import weakref

from markupsafe import escape
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError
from werkzeug.routing import RoutingException
from werkzeug.wrappers import Response as BaseResponse

from ...globals import app_ctx
from ...globals import current_request_context
from ...globals import request
from ...helpers import send_from_directory
from ...helpers import url_for
from ...sansio.blueprints import Blueprint
from ...sansio.blueprints import BlueprintSetupState
from ...signals import got_request_exception
from ...wrappers import Response
from ..problems import error_response
from .openapi import build_document
from .resource import Resource

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Erlen
    from ...sansio.app import App

R = t.TypeVar("R", bound=type[Resource])

_HERE = os.path.dirname(os.path.abspath(__file__))
#: The docs page's script and stylesheet.
STATIC_FOLDER = os.path.join(_HERE, "static")
_DOCS_TEMPLATE = os.path.join(_HERE, "templates", "docs.html")

#: The key of the per-app state in ``app.extensions``.
EXTENSION_KEY = "rest"


@dataclasses.dataclass(frozen=True)
class _Entry:
    resource: type[Resource]
    urls: tuple[str, ...]
    endpoint: str
    args: tuple[t.Any, ...]
    kwargs: dict[str, t.Any]


def _under(path: str, prefix: str) -> bool:
    return not prefix or path == prefix or path.startswith(prefix + "/")


class Api:
    """Typed REST resources for an app or blueprint, in the spirit of Flask-RESTful.

    .. code-block:: python

        api = Api(title="Things", version="1.0")

        @api.resource("/things/<int:id>")
        class ThingItem(Resource):
            def get(self, id: int) -> ThingOut: ...

        api.init_app(app)  # GET /api/things/1, /api/openapi.json, /api/docs

    Inside the API's URLs, every HTTP error becomes an RFC 9457 ``application/problem+json``
    response, and an unhandled exception a ``500`` problem that reveals nothing of it (unless
    ``PROPAGATE_EXCEPTIONS``, on when testing, re-raises it). The rest of the app keeps its
    own error pages. Handlers the app registered for its own exception classes still apply.

    :param app: An app or blueprint to bind now; or call :meth:`init_app` later.
    :param prefix: Prepended to every resource URL and to the document and docs paths.
    :param title: The API's title in the OpenAPI document.
    :param version: The API's version in the OpenAPI document.
    :param description: A longer description for the OpenAPI document.
    :param openapi_path: Where the OpenAPI document is served, under ``prefix``; ``None``
        serves none (and no docs page).
    :param docs_path: Where the docs page is served, under ``prefix``; ``None`` serves none.
    :param name: Prefixes the endpoints of the document and docs page, to keep two APIs on
        one app apart.
    """

    def __init__(
        self,
        app: App | Blueprint | None = None,
        *,
        prefix: str = "/api",
        title: str = "API",
        version: str = "1.0.0",
        description: str | None = None,
        openapi_path: str | None = "/openapi.json",
        docs_path: str | None = "/docs",
        name: str = "api",
    ) -> None:
        self.prefix = prefix.rstrip("/")
        self.title = title
        self.version = version
        self.description = description
        self.openapi_path = openapi_path
        self.docs_path = docs_path if openapi_path is not None else None
        self.name = name
        self._entries: list[_Entry] = []
        self._targets: list[App | Blueprint] = []
        #: View function -> resource class, for every resource rule registered anywhere.
        self._views: dict[t.Callable[..., t.Any], type[Resource]] = {}
        self._documents: weakref.WeakKeyDictionary[App, dict[str, t.Any]] = (
            weakref.WeakKeyDictionary()
        )
        if app is not None:
            self.init_app(app)

    # -- registration --------------------------------------------------------------------------

    def init_app(self, app: App | Blueprint) -> None:
        """Register the resources, the document and the docs page on an app or blueprint.

        On a blueprint, everything lands under the blueprint's URL prefix when it is registered.
        """
        if any(target is app for target in self._targets):
            return
        self._targets.append(app)
        if isinstance(app, Blueprint):
            app.record(self._on_blueprint_registered)
        else:
            _ApiErrors.install(app).add(self, self.prefix)
        for entry in self._entries:
            self._add_rules(app, entry)
        self._add_docs_rules(app)

    def _on_blueprint_registered(self, state: BlueprintSetupState) -> None:
        url_prefix = (state.url_prefix or "").rstrip("/")
        _ApiErrors.install(state.app).add(self, url_prefix + self.prefix)

    def add_resource(
        self,
        resource: type[Resource],
        *urls: str,
        endpoint: str | None = None,
        resource_class_args: t.Sequence[t.Any] = (),
        resource_class_kwargs: dict[str, t.Any] | None = None,
    ) -> None:
        """Route ``urls`` (under :attr:`prefix`) to a :class:`Resource` subclass.

        :param endpoint: The endpoint name; defaults to the class name in lower case.
        :param resource_class_args: Passed to the class for every request.
        :param resource_class_kwargs: Passed to the class for every request.
        :raises TypeError: If ``resource`` isn't a resource, or its methods' declarations are
            invalid (checked now rather than at the first request).
        """
        if not (isinstance(resource, type) and issubclass(resource, Resource)):
            raise TypeError(f"{resource!r} is not a subclass of erlen.ext.rest.Resource.")
        if not urls:
            raise TypeError(f"add_resource({resource.__name__}) needs at least one URL.")
        for method in resource.methods or ():
            resource.operation(method.lower())
        entry = _Entry(
            resource,
            urls,
            endpoint or resource.__name__.lower(),
            tuple(resource_class_args),
            dict(resource_class_kwargs or {}),
        )
        self._entries.append(entry)
        self._documents.clear()
        for target in self._targets:
            self._add_rules(target, entry)

    def resource(
        self,
        *urls: str,
        endpoint: str | None = None,
        resource_class_args: t.Sequence[t.Any] = (),
        resource_class_kwargs: dict[str, t.Any] | None = None,
    ) -> t.Callable[[R], R]:
        """Decorate a :class:`Resource` subclass to route ``urls`` to it (see
        :meth:`add_resource`); the class is returned unchanged."""

        def decorator(cls: R) -> R:
            self.add_resource(
                cls,
                *urls,
                endpoint=endpoint,
                resource_class_args=resource_class_args,
                resource_class_kwargs=resource_class_kwargs,
            )
            return cls

        return decorator

    def _add_rules(self, target: App | Blueprint, entry: _Entry) -> None:
        view = entry.resource.as_view(entry.endpoint, *entry.args, **entry.kwargs)
        self._views[view] = entry.resource
        for url in entry.urls:
            target.add_url_rule(self.prefix + url, entry.endpoint, view)

    def _add_docs_rules(self, target: App | Blueprint) -> None:
        if self.openapi_path is not None:
            target.add_url_rule(
                self.prefix + self.openapi_path,
                f"{self.name}_openapi",
                self._serve_openapi,
                methods=["GET"],
            )
        if self.docs_path is not None:
            target.add_url_rule(
                self.prefix + self.docs_path,
                f"{self.name}_docs",
                self._serve_docs,
                methods=["GET"],
            )
            target.add_url_rule(
                f"{self.prefix}{self.docs_path}/static/<path:filename>",
                f"{self.name}_docs_static",
                self._serve_docs_static,
                methods=["GET"],
            )

    def owns_view(self, view: t.Callable[..., t.Any] | None) -> bool:
        """Whether ``view`` is one of this API's resource views."""
        return view is not None and view in self._views

    # -- the OpenAPI document and the docs page -----------------------------------------------

    def openapi(self, app: App | None = None) -> dict[str, t.Any]:
        """The OpenAPI document of this API's resources on ``app`` (default: the current app).

        Built on first use and kept until another resource is added. The result is shared:
        copy it before changing it.
        """
        if app is None:
            # Through the proxy, for its "Working outside of application context" error.
            app = app_ctx.app
        document = self._documents.get(app)
        if document is None:
            routes = []
            for rule in app.url_map.iter_rules():
                view = app.view_functions.get(rule.endpoint)
                if view is not None and view in self._views:
                    routes.append((rule, self._views[view]))
            document = build_document(
                routes, title=self.title, version=self.version, description=self.description
            )
            self._documents[app] = document
        return document

    def _serve_openapi(self) -> Response:
        document = self.openapi()
        if request.script_root:
            document = {**document, "servers": [{"url": request.script_root}]}
        return Response(json.dumps(document, ensure_ascii=False), mimetype="application/json")

    def _serve_docs(self) -> Response:
        page = _docs_template()
        # A leading dot resolves the endpoint in the current blueprint, if any.
        html = page.substitute(
            title=escape(self.title),
            spec_url=escape(url_for(f".{self.name}_openapi")),
            script_url=escape(url_for(f".{self.name}_docs_static", filename="docs.js")),
            style_url=escape(url_for(f".{self.name}_docs_static", filename="docs.css")),
        )
        return Response(html, mimetype="text/html")

    def _serve_docs_static(self, filename: str) -> Response:
        return send_from_directory(STATIC_FOLDER, filename)

    # -- errors --------------------------------------------------------------------------------

    def handle_http_exception(self, e: HTTPException) -> BaseResponse:
        """The response for an HTTP error inside the API: a problem, unless the error
        carries a response of its own (``abort(response)``). Override to customise."""
        return error_response(e, api=True)

    def handle_server_error(self, e: Exception) -> BaseResponse:
        """The response for an unhandled exception inside the API: a ``500`` problem that says
        nothing about ``e`` (it is logged). Override to customise."""
        return error_response(InternalServerError(), api=True)


@functools.cache
def _docs_template() -> string.Template:
    with open(_DOCS_TEMPLATE, encoding="utf-8") as f:
        return string.Template(f.read())


class _ApiErrors:
    """Per-app state (``app.extensions["rest"]``): the APIs bound to the app by URL prefix,
    and the error handling that routes their errors to them.

    It is one of the app's ``error_routers``, because the error handler registry can't
    express "every HTTP error under this URL prefix": routing errors (404, 405) belong to
    no endpoint, and the app's own handlers for a status code would win. Errors outside its
    APIs are left to the app (``NotImplemented``).
    """

    def __init__(self, app: Erlen) -> None:
        self.app = app
        #: ``(URL prefix, api)``, longest prefix first so nested APIs win.
        self.apis: list[tuple[str, Api]] = []
        app.error_routers.append(self)

    @classmethod
    def install(cls, app: App) -> _ApiErrors:
        state = app.extensions.get(EXTENSION_KEY)
        if not isinstance(state, cls):
            state = app.extensions[EXTENSION_KEY] = cls(t.cast("Erlen", app))
        return state

    def add(self, api: Api, prefix: str) -> None:
        if (prefix, api) not in self.apis:
            self.apis.append((prefix, api))
            self.apis.sort(key=lambda item: len(item[0]), reverse=True)

    def owner(self) -> Api | None:
        """The API the current request belongs to: by its view, else by its URL's prefix."""
        ctx = current_request_context()
        if ctx is None:
            return None
        req = ctx.request
        if req.url_rule is not None:
            view = self.app.view_functions.get(req.url_rule.endpoint)
            for _, api in self.apis:
                if api.owns_view(view):
                    return api
        for prefix, api in self.apis:
            if _under(req.path, prefix):
                return api
        return None

    def _app_handles(self, e: Exception) -> bool:
        """Whether the app registered a handler for ``e``'s class (catch-alls don't count)."""
        ctx = current_request_context()
        blueprints = ctx.request.blueprints if ctx is not None else []
        spec = self.app.error_handler_spec
        for scope in (*blueprints, None):
            handlers = spec.get(scope, {}).get(None, {})
            for cls in type(e).__mro__:
                if cls is Exception or cls is BaseException:
                    break
                if cls in handlers:
                    return True
        return False

    def _propagate(self) -> bool:
        propagate = self.app.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            return bool(self.app.testing or self.app.debug)
        return bool(propagate)

    def handle_user_exception(self, e: Exception) -> t.Any:
        api = self.owner()
        if api is None:
            return NotImplemented
        if isinstance(e, HTTPException):
            if e.code is None or isinstance(e, RoutingException) or self.app.trap_http_exception(e):
                return NotImplemented
            return api.handle_http_exception(e)
        if self._app_handles(e):
            # The app maps its own exception classes (a service's NotFound) to responses.
            return NotImplemented
        raise e

    def handle_exception(self, e: Exception) -> t.Any:
        api = self.owner()
        if api is None:
            return NotImplemented
        if isinstance(e, HTTPException) and e.code is not None:
            # Raised by an error handler that turned an app exception into an HTTP error.
            response = api.handle_http_exception(e)
        elif self._propagate():
            return NotImplemented
        else:
            if got_request_exception.receivers:
                got_request_exception.send(
                    self.app, _async_wrapper=self.app.ensure_sync, exception=e
                )
            self.app.log_exception((type(e), e, e.__traceback__))  # type: ignore[arg-type]
            response = api.handle_server_error(e)
        return self.app.finalize_request(response, from_error_handler=True)
