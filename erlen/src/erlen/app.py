"""The WSGI application object, :class:`Erlen` (also exported as ``Flask``)."""

from __future__ import annotations

import collections.abc as cabc
import os
import sys
import typing as t
import warnings
import weakref
from datetime import timedelta
from inspect import iscoroutinefunction
from itertools import chain
from types import TracebackType
from urllib.parse import quote as _url_quote

import click
from werkzeug.datastructures import Headers
from werkzeug.datastructures import ImmutableDict
from werkzeug.exceptions import BadRequestKeyError
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError
from werkzeug.routing import BuildError
from werkzeug.routing import MapAdapter
from werkzeug.routing import RequestRedirect
from werkzeug.routing import RoutingException
from werkzeug.routing import Rule
from werkzeug.sansio.utils import get_host
from werkzeug.serving import is_running_from_reloader
from werkzeug.wrappers import Response as BaseResponse

from . import _fastpaths
from . import cli
from . import typing as ft
from .ctx import _AppCtxGlobals
from .ctx import _wsgi_str
from .ctx import AppContext
from .ctx import RequestContext
from .globals import _cv_app
from .globals import _cv_request
from .globals import g
from .globals import request
from .globals import session
from .helpers import get_debug_flag
from .helpers import get_flashed_messages
from .helpers import get_load_dotenv
from .helpers import send_from_directory
from .proxy import TrustedProxies
from .sansio.app import App
from .sansio.scaffold import _sentinel
from .sessions import SecureCookieSessionInterface
from .sessions import SessionInterface
from .signals import appcontext_tearing_down
from .signals import got_request_exception
from .signals import request_finished
from .signals import request_started
from .signals import request_tearing_down
from .templating import _default_template_ctx_processor
from .templating import Environment
from .wrappers import Request
from .wrappers import Response

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIEnvironment

    from .testing import FlaskClient
    from .testing import FlaskCliRunner
    from .typing import HeadersValue

T_shell_context_processor = t.TypeVar(
    "T_shell_context_processor", bound=ft.ShellContextProcessorCallable
)
T_teardown = t.TypeVar("T_teardown", bound=ft.TeardownCallable)
T_template_filter = t.TypeVar("T_template_filter", bound=ft.TemplateFilterCallable)
T_template_global = t.TypeVar("T_template_global", bound=ft.TemplateGlobalCallable)
T_template_test = t.TypeVar("T_template_test", bound=ft.TemplateTestCallable)

# A cached binding: the adapter for a host, the validated host, warnings binding gave.
_BoundHost = tuple[MapAdapter, str, tuple[warnings.WarningMessage, ...]]

# Host headers are client-controlled, so the URL adapter cache is bounded.
_ADAPTER_CACHE_SIZE = 128
# Distinct error pages remembered; descriptions can vary per call, so this is bounded.
_ERROR_PAGE_CACHE_SIZE = 64
# Characters left unquoted in a URL fragment built by ``url_for(_anchor=...)``.
_ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"


class Erlen(App):
    """The application: a WSGI callable holding routes, configuration and hooks.

    Create one per application, usually in an app factory::

        from erlen import Erlen
        app = Erlen(__name__)

    :param import_name: the name of the app's module or package, usually ``__name__``;
        locates resources, templates and the instance folder.
    :param static_url_path: URL prefix of the static route (defaults to ``/static``).
    :param static_folder: folder of static files, relative to :attr:`root_path`;
        ``None`` disables the static route.
    :param static_host: host of the static route, required with ``host_matching``.
    :param host_matching: match rules on their ``host`` argument.
    :param subdomain_matching: match rules' ``subdomain`` against ``SERVER_NAME``.
    :param template_folder: folder of templates, relative to :attr:`root_path`.
    :param instance_path: absolute path of the instance folder.
    :param instance_relative_config: load relative config file names from the instance
        folder rather than the root path.
    :param root_path: the app's folder, if it can't be found from ``import_name``.
    """

    default_config = ImmutableDict(
        {
            "DEBUG": None,
            "TESTING": False,
            "PROPAGATE_EXCEPTIONS": None,
            "SECRET_KEY": None,
            "SECRET_KEY_FALLBACKS": None,
            "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
            "USE_X_SENDFILE": False,
            "TRUSTED_HOSTS": None,
            "TRUSTED_PROXIES": None,
            "TRUSTED_PROXY_HOPS": 1,
            "SERVER_NAME": None,
            "APPLICATION_ROOT": "/",
            "SESSION_COOKIE_NAME": "session",
            "SESSION_COOKIE_DOMAIN": None,
            "SESSION_COOKIE_PATH": None,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SECURE": False,
            "SESSION_COOKIE_PARTITIONED": False,
            "SESSION_COOKIE_SAMESITE": None,
            "SESSION_REFRESH_EACH_REQUEST": True,
            "MAX_CONTENT_LENGTH": None,
            "MAX_FORM_MEMORY_SIZE": 500_000,
            "MAX_FORM_PARTS": 1_000,
            "SEND_FILE_MAX_AGE_DEFAULT": None,
            "TRAP_BAD_REQUEST_ERRORS": None,
            "TRAP_HTTP_EXCEPTIONS": False,
            "EXPLAIN_TEMPLATE_LOADING": False,
            "PREFERRED_URL_SCHEME": "http",
            "TEMPLATES_AUTO_RELOAD": None,
            "MAX_COOKIE_SIZE": 4093,
            "PROVIDE_AUTOMATIC_OPTIONS": True,
        }
    )

    #: The class of :data:`request` objects.
    request_class: type[Request] = Request
    #: The class of response objects the app creates.
    response_class: type[Response] = Response
    #: How sessions are loaded and saved; see :mod:`erlen.sessions`.
    session_interface: SessionInterface = SecureCookieSessionInterface()
    #: The class of :data:`g`.
    app_ctx_globals_class = _AppCtxGlobals
    #: The Jinja environment class.
    jinja_environment = Environment

    # Shortcuts this class takes, decided when it is created (see erlen._fastpaths).
    # shared_url_adapter is refined per app by its URL map's class.
    _fast_shared_url_adapter: bool
    _fast_sync_cache: t.ClassVar[bool]

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        _fastpaths.decide(cls, Erlen)

    def __init__(
        self,
        import_name: str,
        static_url_path: str | None = None,
        static_folder: str | os.PathLike[str] | None = "static",
        static_host: str | None = None,
        host_matching: bool = False,
        subdomain_matching: bool = False,
        template_folder: str | os.PathLike[str] | None = "templates",
        instance_path: str | None = None,
        instance_relative_config: bool = False,
        root_path: str | None = None,
    ) -> None:
        super().__init__(
            import_name=import_name,
            static_url_path=static_url_path,
            static_folder=static_folder,
            static_host=static_host,
            host_matching=host_matching,
            subdomain_matching=subdomain_matching,
            template_folder=template_folder,
            instance_path=instance_path,
            instance_relative_config=instance_relative_config,
            root_path=root_path,
        )
        # Host-bound adapters are cached unless the URL map binds in a way of its own.
        self._fast_bound_host_cache = _fastpaths.taken_by(
            _fastpaths.BOUND_HOST_CACHE, type(self.url_map)
        )
        if not self._fast_bound_host_cache:
            self._fast_shared_url_adapter = False
        #: The app's ``click`` command group; ``erlen <command>`` finds commands here.
        self.cli: cli.AppGroup = cli.AppGroup()
        self.cli.name = self.name
        self._adapter_cache: dict[tuple[t.Any, ...], _BoundHost] = {}
        self._error_pages: dict[tuple[t.Any, ...], bytes] = {}
        # TRUSTED_PROXIES, parsed: (the settings it was parsed from, the result).
        self._proxies_cache: tuple[tuple[t.Any, t.Any], TrustedProxies | None] | None = None
        #: Objects that may take over error handling before the registered error handlers
        #: are consulted, e.g. ``erlen.ext.rest`` answering every error under its URL prefix
        #: with problem+json; see :class:`erlen.typing.ErrorRouter`. An erlen addition.
        self.error_routers: list[ft.ErrorRouter] = []
        # view or hook -> the callable that runs it from sync code (see _sync); as many
        # entries as the app has views and hooks.
        self._sync_funcs: dict[t.Callable[..., t.Any], t.Callable[..., t.Any]] = {}
        # Templates see ``g``, ``request`` and ``session`` through this processor.
        self.template_context_processors[None].append(_default_template_ctx_processor)

        if self.has_static_folder:
            assert bool(static_host) == host_matching, (
                "Invalid static_host/host_matching combination"
            )
            # A weak reference so the view doesn't keep the app alive.
            self_ref = weakref.ref(self)
            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=lambda **kw: self_ref().send_static_file(**kw),  # type: ignore[union-attr]
            )

    # -- files -------------------------------------------------------------------------------

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """The ``max_age`` for :func:`send_file`: ``SEND_FILE_MAX_AGE_DEFAULT`` (seconds)."""
        app_ctx = _cv_app.get(None)
        config = app_ctx.app.config if app_ctx is not None else self.config
        value = config["SEND_FILE_MAX_AGE_DEFAULT"]
        if value is None:
            return None
        if isinstance(value, timedelta):
            return int(value.total_seconds())
        return value  # type: ignore[no-any-return]

    def send_static_file(self, filename: str) -> Response:
        """Serve a file from :attr:`static_folder`; the view behind the ``static`` route."""
        if not self.has_static_folder:
            raise RuntimeError("'static_folder' must be set to serve static_files.")
        max_age = self.get_send_file_max_age(filename)
        return send_from_directory(t.cast(str, self.static_folder), filename, max_age=max_age)

    def open_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = None
    ) -> t.IO[t.AnyStr]:
        """Open a file relative to :attr:`root_path` for reading."""
        if mode not in {"r", "rt", "rb"}:
            raise ValueError("Resources can only be opened for reading.")
        path = os.path.join(self.root_path, resource)
        if mode == "rb":
            return open(path, mode)
        return open(path, mode, encoding=encoding)

    def open_instance_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> t.IO[t.AnyStr]:
        """Open a file relative to :attr:`instance_path`, for reading or writing."""
        path = os.path.join(self.instance_path, resource)
        if "b" in mode:
            return open(path, mode)
        return open(path, mode, encoding=encoding)

    # -- templates ---------------------------------------------------------------------------

    def create_jinja_environment(self) -> Environment:
        """Build :attr:`jinja_env` from :attr:`jinja_options` and the app's globals."""
        options = dict(self.jinja_options)
        if "autoescape" not in options:
            options["autoescape"] = self.select_jinja_autoescape
        if "auto_reload" not in options:
            auto_reload = self.config["TEMPLATES_AUTO_RELOAD"]
            options["auto_reload"] = self.debug if auto_reload is None else auto_reload
        env = self.jinja_environment(self, **options)
        env.globals.update(
            url_for=self.url_for,
            get_flashed_messages=get_flashed_messages,
            config=self.config,
            request=request,
            session=session,
            g=g,
        )
        env.policies["json.dumps_function"] = self.json.dumps
        return env

    def update_template_context(self, context: dict[str, t.Any]) -> None:
        """Add the context processors' values to ``context``; explicit values win."""
        names: t.Iterable[str | None] = (None,)
        req_ctx = _cv_request.get(None)
        if req_ctx is not None:
            names = chain(names, reversed(req_ctx.request.blueprints))
        original = context.copy()
        processors = self.template_context_processors
        for name in names:
            if name in processors:
                for func in processors[name]:
                    context.update(self._sync(func)())
        context.update(original)

    def make_shell_context(self) -> dict[str, t.Any]:
        """The namespace of ``erlen shell``: ``app``, ``g`` and the shell processors'."""
        rv: dict[str, t.Any] = {"app": self, "g": g}
        for processor in self.shell_context_processors:
            rv.update(processor())
        return rv

    # -- running -----------------------------------------------------------------------------

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        load_dotenv: bool = True,
        **options: t.Any,
    ) -> None:
        """Run the development server (reloader and debugger when ``debug``).

        Not for production: use a WSGI server such as granian.
        """
        if os.environ.get("FLASK_RUN_FROM_CLI") == "true":
            if not is_running_from_reloader():
                click.secho(
                    " * Ignoring a call to 'app.run()' that would block"
                    " the current 'erlen' CLI command.\n"
                    "   Only call 'app.run()' in an 'if __name__ =="
                    ' "__main__"\' guard.',
                    fg="red",
                )
            return

        if get_load_dotenv(load_dotenv):
            cli.load_dotenv()
            if "FLASK_DEBUG" in os.environ or "ERLEN_DEBUG" in os.environ:
                self.debug = get_debug_flag()
        if debug is not None:
            self.debug = bool(debug)

        server_name = self.config.get("SERVER_NAME")
        sn_host = sn_port = None
        if server_name:
            sn_host, _, sn_port = server_name.partition(":")
        if not host:
            host = sn_host or "127.0.0.1"
        if port or port == 0:
            port = int(port)
        elif sn_port:
            port = int(sn_port)
        else:
            port = 5000

        options.setdefault("use_reloader", self.debug)
        options.setdefault("use_debugger", self.debug)
        options.setdefault("threaded", True)
        cli.show_server_banner(self.debug, self.name)

        from werkzeug.serving import run_simple

        try:
            run_simple(host, port, self, **options)
        finally:
            # Let the reloaded process register setup functions again.
            self._got_first_request = False

    def test_client(self, use_cookies: bool = True, **kwargs: t.Any) -> FlaskClient:
        """A test client for the app; see :class:`erlen.testing.FlaskClient`."""
        from .testing import FlaskClient

        cls: type[t.Any] = self.test_client_class or FlaskClient
        return cls(self, self.response_class, use_cookies=use_cookies, **kwargs)  # type: ignore[no-any-return]

    def test_cli_runner(self, **kwargs: t.Any) -> FlaskCliRunner:
        """A runner for the app's CLI commands; see :class:`erlen.testing.FlaskCliRunner`."""
        from .testing import FlaskCliRunner

        cls: type[t.Any] = self.test_cli_runner_class or FlaskCliRunner
        return cls(self, **kwargs)  # type: ignore[no-any-return]

    # -- routing -----------------------------------------------------------------------------

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """The URL adapter for a request, or for building URLs outside one.

        Binding to the environ is the most expensive step of a small request, so the
        host-dependent part is computed once per (host, scheme, script name, config) and
        cached; each request then gets a cheap adapter for its own path and method.
        """
        config = self.config
        if request is None:
            # Building URLs outside a request needs SERVER_NAME.
            if config["SERVER_NAME"] is None:
                return None
            return self.url_map.bind(
                config["SERVER_NAME"],
                script_name=config["APPLICATION_ROOT"],
                url_scheme=config["PREFERRED_URL_SCHEME"],
            )

        if not self._fast_bound_host_cache:
            # Bind to this request's environ, path and all, as werkzeug's map expects.
            return self._bind_adapter(request, request.environ, config["TRUSTED_HOSTS"])[0]
        return self._request_adapter(self._host_adapter(request), request.environ)

    def _host_adapter(self, request: Request) -> MapAdapter:
        """The adapter bound to the request's host, from the cache when possible.

        Validates the host against ``TRUSTED_HOSTS`` first (an untrusted one raises 400);
        its ``path_info`` and method are whatever request bound it first, so use it only
        with explicit ones (:meth:`_request_adapter` makes a request's own).
        """
        config = self.config
        environ = request.environ
        trusted_hosts = config["TRUSTED_HOSTS"]
        url_map = self.url_map
        key = (
            environ.get("HTTP_HOST"),
            environ.get("SERVER_NAME"),
            environ.get("SERVER_PORT"),
            environ["wsgi.url_scheme"],
            environ.get("SCRIPT_NAME"),
            environ.get("HTTP_UPGRADE"),
            environ.get("HTTP_CONNECTION"),
            config["SERVER_NAME"],
            None if trusted_hosts is None else tuple(trusted_hosts),
            url_map.host_matching,
            self.subdomain_matching,
            url_map.default_subdomain,
        )
        cached = self._adapter_cache.get(key)
        if cached is None:
            cached = self._bind_adapter(request, environ, trusted_hosts)
            if len(self._adapter_cache) >= _ADAPTER_CACHE_SIZE:
                self._adapter_cache.clear()
            self._adapter_cache[key] = cached
        else:
            if trusted_hosts is not None:
                request.trusted_hosts = trusted_hosts
            request.host = cached[1]
            # Binding warns when the host doesn't match SERVER_NAME; so does every hit.
            for warning in cached[2]:
                warnings.warn(warning.message, warning.category, stacklevel=4)
        return cached[0]

    def _hostless_adapter(self, request: Request) -> MapAdapter:
        """An adapter for building paths when the request's own host could not be bound.

        Bound to ``SERVER_NAME`` if set, else to a placeholder that never reaches a URL:
        :meth:`url_for` builds only paths with it.
        """
        return self.url_map.bind(
            self.config["SERVER_NAME"] or "localhost",
            script_name=request.environ.get("SCRIPT_NAME") or None,
            url_scheme=request.environ.get("wsgi.url_scheme", "http"),
        )

    def _request_adapter(self, base: MapAdapter, environ: WSGIEnvironment) -> MapAdapter:
        """An adapter like ``base`` for this request's own path, method and query."""
        path_info = environ.get("PATH_INFO")
        return MapAdapter(
            self.url_map,
            base.server_name,
            base.script_name,
            base.subdomain,
            base.url_scheme,
            "/" if path_info is None else _wsgi_str(path_info),  # type: ignore[arg-type]
            environ["REQUEST_METHOD"],
            _wsgi_str(environ.get("QUERY_STRING")),
        )

    def _bind_adapter(
        self,
        request: Request,
        environ: WSGIEnvironment,
        trusted_hosts: list[str] | None,
    ) -> _BoundHost:
        if trusted_hosts is not None:
            request.trusted_hosts = trusted_hosts
        # Validate the host (raises 400 for an untrusted one) before binding to it.
        host = get_host(
            environ["wsgi.url_scheme"],
            environ.get("HTTP_HOST"),
            request.server,
            request.trusted_hosts,
        )
        request.host = host
        subdomain = None
        server_name = self.config["SERVER_NAME"]
        if self.url_map.host_matching:
            # SERVER_NAME would override the real host and break host matching.
            server_name = None
        elif not self.subdomain_matching:
            # Without subdomain matching, every request is on the default subdomain.
            subdomain = self.url_map.default_subdomain or ""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            adapter = self.url_map.bind_to_environ(
                environ, server_name=server_name, subdomain=subdomain
            )
        # Re-issued now and on every cache hit, so each request warns as werkzeug would.
        for warning in caught:
            warnings.warn(warning.message, warning.category, stacklevel=4)
        return adapter, host, tuple(caught)

    def raise_routing_exception(self, request: Request) -> t.NoReturn:
        """Raise the routing error; in debug, explain a redirect that would drop form data."""
        exc = request.routing_exception
        if (
            not self.debug
            or not isinstance(exc, RequestRedirect)
            or exc.code in {307, 308}
            or request.method in {"GET", "HEAD", "OPTIONS"}
        ):
            raise exc  # type: ignore[misc]

        from .debughelpers import FormDataRoutingRedirect

        raise FormDataRoutingRedirect(request)

    def url_for(
        self,
        /,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: t.Any,
    ) -> str:
        """Build the URL of ``endpoint`` with ``values``; see :func:`erlen.url_for`.

        Inside a request the URL is relative unless ``_external``; outside one it is
        absolute, built from ``SERVER_NAME``. A leading ``.`` in ``endpoint`` means the
        current blueprint. Unknown values become query arguments.
        """
        req_ctx = _cv_request.get(None)
        if req_ctx is not None:
            url_adapter = req_ctx.url_adapter
            if url_adapter is None:
                # The request's host was refused (TRUSTED_HOSTS), so the error page being
                # rendered for that 400 has no adapter. Paths don't depend on the host;
                # an absolute URL would, and must never carry the refused one.
                if _external:
                    raise RuntimeError(
                        "Unable to build an external URL: this request's Host was refused"
                        " (not in TRUSTED_HOSTS). Set SERVER_NAME to build absolute URLs"
                        " for such requests."
                    )
                url_adapter = self._hostless_adapter(req_ctx.request)
            if endpoint[:1] == ".":
                blueprint_name = req_ctx.request.blueprint
                if blueprint_name is not None:
                    endpoint = f"{blueprint_name}{endpoint}"
                else:
                    endpoint = endpoint[1:]
            if _external is None:
                _external = _scheme is not None
        else:
            app_ctx = _cv_app.get(None)
            if app_ctx is not None:
                url_adapter = app_ctx.url_adapter
            else:
                url_adapter = self.create_url_adapter(None)
            if url_adapter is None:
                raise RuntimeError(
                    "Unable to build URLs outside an active request"
                    " without 'SERVER_NAME' configured. Also configure"
                    " 'APPLICATION_ROOT' and 'PREFERRED_URL_SCHEME' as"
                    " needed."
                )
            if _external is None:
                _external = True

        if _scheme is not None and not _external:
            raise ValueError("When specifying '_scheme', '_external' must be True.")

        self.inject_url_defaults(endpoint, values)
        try:
            rv: str = url_adapter.build(
                endpoint,
                values,
                method=_method,
                url_scheme=_scheme,
                force_external=_external,
            )
        except BuildError as error:
            values.update(_anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external)
            return self.handle_url_build_error(error, endpoint, values)

        if _anchor is not None:
            rv = f"{rv}#{_url_quote(_anchor, safe=_ANCHOR_SAFE)}"
        return rv

    # -- dispatching -------------------------------------------------------------------------

    def dispatch_request(self) -> ft.ResponseReturnValue:
        """Call the view for the matched rule (or raise the routing error)."""
        req = _cv_request.get().request
        if req.routing_exception is not None:
            self.raise_routing_exception(req)
        rule: Rule = req.url_rule  # type: ignore[assignment]
        if req.method == "OPTIONS" and getattr(rule, "provide_automatic_options", False):
            return self.make_default_options_response()
        view = self._sync(self.view_functions[rule.endpoint])
        return view(**req.view_args)  # type: ignore[arg-type, no-any-return]

    def full_dispatch_request(self) -> Response:
        """Run the before hooks, the view and error handling, then finalize the response."""
        self._got_first_request = True
        try:
            if request_started.receivers:
                request_started.send(self, _async_wrapper=self.ensure_sync)
            rv = self.preprocess_request()
            if rv is None:
                rv = self.dispatch_request()
        except Exception as e:
            rv = self.handle_user_exception(e)
        return self.finalize_request(rv)

    def finalize_request(
        self,
        rv: ft.ResponseReturnValue | HTTPException,
        from_error_handler: bool = False,
    ) -> Response:
        """Turn ``rv`` into a response and run the after hooks and session saving.

        With ``from_error_handler``, a failure here is logged instead of raised, so the
        error response still goes out.
        """
        response = self.make_response(rv)
        try:
            response = self.process_response(response)
            if request_finished.receivers:
                request_finished.send(self, _async_wrapper=self.ensure_sync, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    def make_default_options_response(self) -> Response:
        """The automatic ``OPTIONS`` response: empty, with ``Allow`` listing the methods."""
        adapter = _cv_request.get().url_adapter
        methods = adapter.allowed_methods()  # type: ignore[union-attr]
        rv = self.response_class()
        rv.allow.update(methods)
        return rv

    def _sync(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        """:meth:`ensure_sync`, remembered per function for the views and hooks run on
        every request (whether a function is a coroutine function never changes). A
        subclass's own ``ensure_sync`` is called every time, as it may decide per call."""
        if not self._fast_sync_cache:
            return self.ensure_sync(func)
        sync = self._sync_funcs.get(func)
        if sync is None:
            sync = self._sync_funcs[func] = self.ensure_sync(func)
        return sync

    def ensure_sync(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        """Return ``func`` callable from sync code: coroutine functions are wrapped."""
        if iscoroutinefunction(func):
            return self.async_to_sync(func)
        return func

    def async_to_sync(
        self, func: t.Callable[..., t.Coroutine[t.Any, t.Any, t.Any]]
    ) -> t.Callable[..., t.Any]:
        """Wrap a coroutine function to run to completion when called (needs asgiref)."""
        try:
            from asgiref.sync import async_to_sync as asgiref_async_to_sync
        except ImportError:
            raise RuntimeError(
                "Install erlen with the 'async' extra in order to use async views."
            ) from None
        return asgiref_async_to_sync(func)

    def make_response(self, rv: ft.ResponseReturnValue | HTTPException) -> Response:
        """Convert a view's return value into a :attr:`response_class` instance.

        Accepts ``str``/``bytes`` (the body), ``dict``/``list`` (JSON), a generator or
        iterator (streamed), a response object, a WSGI callable, or a tuple of one of
        those with a status and/or headers.
        """
        response_class = self.response_class
        # The common case first: a plain string body.
        if type(rv) is str:
            return response_class(rv)

        status: int | str | None = None
        headers: HeadersValue | None = None
        if isinstance(rv, tuple):
            size = len(rv)
            if size == 3:
                rv, status, headers = rv  # type: ignore[misc]
            elif size == 2:
                if isinstance(rv[1], (Headers, dict, tuple, list)):
                    rv, headers = rv
                else:
                    rv, status = rv  # type: ignore[assignment, misc]
            else:
                raise TypeError(
                    "The view function did not return a valid response tuple."
                    " The tuple must have the form (body, status, headers),"
                    " (body, status), or (body, headers)."
                )

        if rv is None:
            req_ctx = _cv_request.get(None)
            endpoint = req_ctx.request.endpoint if req_ctx is not None else None
            raise TypeError(
                f"The view function for {endpoint!r} did not"
                " return a valid response. The function either returned"
                " None or ended without a return statement."
            )

        if not isinstance(rv, response_class):
            if isinstance(rv, (str, bytes, bytearray)) or isinstance(rv, cabc.Iterator):
                rv = response_class(rv, status=status, headers=headers)
                status = headers = None
            elif isinstance(rv, (dict, list)):
                rv = self.json.response(rv)
            elif (
                isinstance(rv, HTTPException)
                and rv.response is None
                and _fastpaths.taken_by(_fastpaths.DIRECT_ERROR_RESPONSE, type(rv))
            ):
                # An error used as the response: build its response directly rather than
                # running it as a WSGI app and re-parsing what it wrote. Not for an error
                # carrying its own response (abort(response)): that object may be shared
                # between requests, so it gets copied through the WSGI path as in Flask.
                rv = self._error_response(rv)
            elif isinstance(rv, BaseResponse) or callable(rv):
                try:
                    rv = response_class.force_type(
                        rv,  # type: ignore[arg-type]
                        _cv_request.get().request.environ,
                    )
                except TypeError as e:
                    raise TypeError(
                        f"{e}\nThe view function did not return a valid"
                        " response. The return type must be a string,"
                        " dict, list, tuple with headers or status,"
                        " Response instance, or WSGI callable, but it"
                        f" was a {type(rv).__name__}."
                    ).with_traceback(sys.exc_info()[2]) from None
            else:
                raise TypeError(
                    "The view function did not return a valid"
                    " response. The return type must be a string,"
                    " dict, list, tuple with headers or status,"
                    " Response instance, or WSGI callable, but it was a"
                    f" {type(rv).__name__}."
                )

        response = t.cast(Response, rv)
        if status is not None:
            if isinstance(status, (str, bytes, bytearray)):
                response.status = status
            else:
                response.status_code = status
        if headers:
            response.headers.update(headers)
        return response

    def _error_response(self, error: HTTPException) -> Response:
        """The response werkzeug would build for ``error``, with its page memoised.

        An error's page depends only on its class, code and description unless the class
        customises it, and 404s come in floods (scanners), so the rendered page is kept
        (a bounded number of them) rather than escaped and formatted every time.
        """
        environ = _cv_request.get().request.environ
        cls = type(error)
        if not _fastpaths.taken_by(_fastpaths.ERROR_PAGE_CACHE, cls):
            return self.response_class.force_type(error.get_response(environ))  # type: ignore[return-value]
        key = (cls, error.code, error.description)
        page = self._error_pages.get(key)
        if page is None:
            page = error.get_body(environ).encode()
            if len(self._error_pages) < _ERROR_PAGE_CACHE_SIZE:
                self._error_pages[key] = page
        response = self.response_class(page, mimetype="text/html")
        response.status_code = error.code  # type: ignore[assignment]
        return response

    def preprocess_request(self) -> ft.ResponseReturnValue | None:
        """Run URL value preprocessors, then ``before_request`` functions (app first).

        A non-``None`` value from a before function becomes the response.
        """
        req = _cv_request.get().request
        blueprints = req.blueprints
        names = (None, *reversed(blueprints)) if blueprints else (None,)

        preprocessors = self.url_value_preprocessors
        if preprocessors:
            for name in names:
                if name in preprocessors:
                    for url_func in preprocessors[name]:
                        url_func(req.endpoint, req.view_args)

        before_funcs = self.before_request_funcs
        if before_funcs:
            for name in names:
                if name in before_funcs:
                    for before_func in before_funcs[name]:
                        rv = self._sync(before_func)()
                        if rv is not None:
                            return rv  # type: ignore[no-any-return]
        return None

    def process_response(self, response: Response) -> Response:
        """Run ``after_this_request`` and ``after_request`` functions, then save the session."""
        ctx = _cv_request.get()
        for func in ctx._after_request_functions:
            response = self.ensure_sync(func)(response)  # per-request functions: not cached

        after_funcs = self.after_request_funcs
        if after_funcs:
            blueprints = ctx.request.blueprints
            for name in chain(blueprints, (None,)) if blueprints else (None,):
                if name in after_funcs:
                    for func in reversed(after_funcs[name]):
                        response = self._sync(func)(response)

        self._save_session(ctx, response)
        return response

    def _save_session(self, ctx: RequestContext, response: Response) -> None:
        interface = self.session_interface
        if ctx._opened_session is None:
            # Never opened, so nothing changed. Only a permanent cookie session may still
            # need re-sending to refresh its expiry; open it if its cookie came in. The raw
            # header is checked first so requests without the cookie parse nothing.
            if not self.config["SESSION_REFRESH_EACH_REQUEST"]:
                return
            name = interface.get_cookie_name(self)
            raw = ctx.request.environ.get("HTTP_COOKIE")
            if not raw or name not in raw or name not in ctx.request.cookies:
                return
        session = ctx._session
        if not interface.is_null_session(session):
            interface.save_session(self, session, response)

    def do_teardown_request(
        self,
        exc: BaseException | None = _sentinel,  # type: ignore[assignment]
    ) -> None:
        """Call the ``teardown_request`` functions, innermost blueprint first."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        teardown_funcs = self.teardown_request_funcs
        if teardown_funcs:
            blueprints = _cv_request.get().request.blueprints
            for name in chain(blueprints, (None,)) if blueprints else (None,):
                if name in teardown_funcs:
                    for func in reversed(teardown_funcs[name]):
                        try:
                            self._sync(func)(exc)
                        except Exception as e:
                            self._teardown_failed(e, func)
        if request_tearing_down.receivers:
            try:
                request_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)
            except Exception as e:
                self._teardown_failed(e, request_tearing_down)

    def do_teardown_appcontext(
        self,
        exc: BaseException | None = _sentinel,  # type: ignore[assignment]
    ) -> None:
        """Call the ``teardown_appcontext`` functions, last registered first."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        for func in reversed(self.teardown_appcontext_funcs):
            try:
                self._sync(func)(exc)
            except Exception as e:
                self._teardown_failed(e, func)
        if appcontext_tearing_down.receivers:
            try:
                appcontext_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)
            except Exception as e:
                self._teardown_failed(e, appcontext_tearing_down)

    def _teardown_failed(self, error: Exception, func: t.Any) -> None:
        """A teardown function (or a receiver of the tearing-down signal) raised.

        Where exceptions propagate (``PROPAGATE_EXCEPTIONS``, by default in testing and
        debug mode) it propagates, as in Flask, and the remaining teardown functions are
        skipped. Otherwise the response was already produced and may be on its way: it is
        logged once and the next teardown function runs, so a failing clean-up never turns
        a sent response into a different one (a WSGI server answers an exception raised
        after ``start_response`` with an empty 500).

        Call it from the ``except`` block.
        """
        propagate = self.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = self.testing or self.debug
        if propagate:
            raise error
        name = getattr(func, "__qualname__", None) or getattr(func, "name", None) or repr(func)
        ctx = _cv_request.get(None)
        where = f" of {ctx.request.path} [{ctx.request.method}]" if ctx is not None else ""
        self.logger.error(
            f"Exception in teardown {name}{where}; the response stands.", exc_info=error
        )

    # -- errors ------------------------------------------------------------------------------

    def handle_http_exception(self, e: HTTPException) -> HTTPException | ft.ResponseReturnValue:
        """Give an HTTP error to its registered handler, or use it as the response."""
        # Proxy exceptions without a code, and routing redirects, are not errors.
        if e.code is None or isinstance(e, RoutingException):
            return e
        handler = self._find_error_handler(e, _cv_request.get().request.blueprints)
        if handler is None:
            return e
        return self.ensure_sync(handler)(e)  # type: ignore[no-any-return]

    def handle_user_exception(self, e: Exception) -> HTTPException | ft.ResponseReturnValue:
        """Handle an exception raised during dispatch with a registered handler, or re-raise."""
        for router in self.error_routers:
            routed = router.handle_user_exception(e)
            if routed is not NotImplemented:
                return routed  # type: ignore[no-any-return]
        if isinstance(e, BadRequestKeyError) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            e.show_exception = True

        if isinstance(e, HTTPException) and not self.trap_http_exception(e):
            return self.handle_http_exception(e)

        handler = self._find_error_handler(e, _cv_request.get().request.blueprints)
        if handler is None:
            raise
        return self.ensure_sync(handler)(e)  # type: ignore[no-any-return]

    def handle_exception(self, e: Exception) -> Response:
        """Handle an unhandled exception: propagate it (testing/debug) or answer 500.

        The 500 handler, if registered, receives an :exc:`InternalServerError` whose
        ``original_exception`` is ``e``.
        """
        for router in self.error_routers:
            routed = router.handle_exception(e)
            if routed is not NotImplemented:
                return routed  # type: ignore[no-any-return]
        exc_info = sys.exc_info()
        if got_request_exception.receivers:
            got_request_exception.send(self, _async_wrapper=self.ensure_sync, exception=e)
        propagate = self.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = self.testing or self.debug
        if propagate:
            # Re-raise with the original traceback if it is the one being handled.
            if exc_info[1] is e:
                raise
            raise e

        self.log_exception(exc_info)
        server_error: InternalServerError | ft.ResponseReturnValue
        server_error = InternalServerError(original_exception=e)
        handler = self._find_error_handler(server_error, _cv_request.get().request.blueprints)
        if handler is not None:
            server_error = self.ensure_sync(handler)(server_error)
        return self.finalize_request(server_error, from_error_handler=True)

    def log_exception(
        self,
        exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        """Log an unhandled exception with the request's path and method."""
        req = _cv_request.get().request
        self.logger.error(f"Exception on {req.path} [{req.method}]", exc_info=exc_info)

    # -- contexts and WSGI -------------------------------------------------------------------

    def app_context(self) -> AppContext:
        """A new application context; use it in a ``with`` block."""
        return AppContext(self)

    def request_context(self, environ: WSGIEnvironment) -> RequestContext:
        """A new request context for a WSGI environ."""
        return RequestContext(self, environ)

    def test_request_context(self, *args: t.Any, **kwargs: t.Any) -> RequestContext:
        """A request context for an environ built from werkzeug ``EnvironBuilder`` args."""
        from .testing import EnvironBuilder

        builder = EnvironBuilder(self, *args, **kwargs)
        try:
            return self.request_context(builder.get_environ())
        finally:
            builder.close()

    def wsgi_app(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> cabc.Iterable[bytes]:
        """The WSGI application; wrap this (not the app) with middleware."""
        if self.config["TRUSTED_PROXIES"] is not None:
            proxies = self._trusted_proxies()
            if proxies is not None:
                proxies.apply(environ)
        ctx = self.request_context(environ)
        error: BaseException | None = None
        try:
            try:
                ctx.push()
                response = self.full_dispatch_request()
            except Exception as e:
                error = e
                response = self.handle_exception(e)
            except:
                error = sys.exc_info()[1]
                raise
            return response(environ, start_response)
        finally:
            if "werkzeug.debug.preserve_context" in environ:
                environ["werkzeug.debug.preserve_context"](_cv_app.get())
                environ["werkzeug.debug.preserve_context"](_cv_request.get())
            if error is not None and self.should_ignore_error(error):
                error = None
            ctx.pop(error)

    def _trusted_proxies(self) -> TrustedProxies | None:
        """The parsed ``TRUSTED_PROXIES`` (see :mod:`erlen.proxy`), rebuilt when it changes;
        ``None`` when the list is empty."""
        proxies, hops = self.config["TRUSTED_PROXIES"], self.config["TRUSTED_PROXY_HOPS"]
        key = (proxies if isinstance(proxies, str) else tuple(proxies), hops)
        cached = self._proxies_cache
        if cached is None or cached[0] != key:
            cached = self._proxies_cache = (key, TrustedProxies.from_config(proxies, hops))
        return cached[1]

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> cabc.Iterable[bytes]:
        return self.wsgi_app(environ, start_response)


_fastpaths.decide(Erlen, Erlen)

Flask = Erlen
