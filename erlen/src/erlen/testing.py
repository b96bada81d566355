"""Test helpers: a request builder and test client that know the app, and a CLI runner."""

from __future__ import annotations

import functools
import importlib.metadata
import typing as t
from contextlib import contextmanager
from contextlib import ExitStack
from copy import copy
from types import TracebackType
from urllib.parse import urlsplit

import werkzeug.test
from click.testing import CliRunner
from click.testing import Result
from werkzeug.test import Client
from werkzeug.wrappers import Request as BaseRequest

from .cli import ScriptInfo

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.test import TestResponse

    from .app import Erlen
    from .sessions import SessionMixin


class EnvironBuilder(werkzeug.test.EnvironBuilder):
    """A werkzeug :class:`~werkzeug.test.EnvironBuilder` that takes its defaults from the app.

    :param app: The application the request is for.
    :param path: The URL path requested. A full URL also sets the scheme and host.
    :param base_url: Where the app is served, which ``path`` is relative to. Built from
        ``PREFERRED_URL_SCHEME``, ``subdomain``, ``SERVER_NAME`` and ``APPLICATION_ROOT``
        when not given.
    :param subdomain: A subdomain to put in front of ``SERVER_NAME``.
    :param url_scheme: A scheme to use instead of ``PREFERRED_URL_SCHEME``.
    :param json: Serialized with the app's JSON provider and sent as the body, with the
        ``application/json`` content type.
    :param args: Passed on to werkzeug's builder.
    :param kwargs: Passed on to werkzeug's builder.
    """

    def __init__(
        self,
        app: Erlen,
        path: str = "/",
        base_url: str | None = None,
        subdomain: str | None = None,
        url_scheme: str | None = None,
        *args: t.Any,
        **kwargs: t.Any,
    ) -> None:
        # base_url already contains a scheme and host; the other two would be ignored.
        assert base_url is None or not (subdomain or url_scheme), (
            'Cannot pass "subdomain" or "url_scheme" with "base_url".'
        )

        if base_url is None:
            base_url, path = self._base_url_from_config(app, path, subdomain, url_scheme)

        self.app = app
        super().__init__(path, base_url, *args, **kwargs)

    @staticmethod
    def _base_url_from_config(
        app: Erlen, path: str, subdomain: str | None, url_scheme: str | None
    ) -> tuple[str, str]:
        """Split ``path`` into a base URL from the app's config and the path left under it."""
        url = urlsplit(path)
        host = app.config.get("SERVER_NAME") or "localhost"

        if subdomain:
            host = f"{subdomain}.{host}"

        scheme = url.scheme or url_scheme or app.config["PREFERRED_URL_SCHEME"]
        root = app.config["APPLICATION_ROOT"].lstrip("/")
        rest = f"{url.path}?{url.query}" if url.query else url.path
        return f"{scheme}://{url.netloc or host}/{root}", rest

    def json_dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to JSON with the app's JSON provider and settings."""
        return self.app.json.dumps(obj, **kwargs)


@functools.cache
def _werkzeug_version() -> str:
    return importlib.metadata.version("werkzeug")


class FlaskClient(Client):
    """A werkzeug test client that knows about the app's contexts.

    Inside ``with client:``, the contexts of the last request stay pushed until the block
    ends, so the test can look at ``request``, ``session`` and ``g`` after the response.
    Default environ values live in :attr:`environ_base` and can be changed per client.
    """

    application: Erlen

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.preserve_context = False
        # Contexts the app handed back during the current request, pushed again after it.
        self._new_contexts: list[t.ContextManager[t.Any]] = []
        # Contexts kept pushed from the previous request in a ``with client:`` block.
        self._context_stack = ExitStack()
        #: Values every request's environ starts from.
        self.environ_base: dict[str, t.Any] = {
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_USER_AGENT": f"Werkzeug/{_werkzeug_version()}",
        }

    @contextmanager
    def session_transaction(self, *args: t.Any, **kwargs: t.Any) -> t.Iterator[SessionMixin]:
        """Open the client's session for reading and changing it in a ``with`` block.

        The session is saved back to the client's cookies when the block ends. Arguments
        are passed to :meth:`~erlen.Erlen.test_request_context`, since opening a session may
        depend on the request.
        """
        if self._cookies is None:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")

        app = self.application
        interface = app.session_interface
        ctx = app.test_request_context(*args, **kwargs)
        self._add_cookies_to_wsgi(ctx.request.environ)

        with ctx:
            session = interface.open_session(app, ctx.request)

        if session is None:
            raise RuntimeError("Session backend did not open a session.")

        yield session

        if interface.is_null_session(session):
            return

        response = app.response_class()

        with ctx:
            interface.save_session(app, session, response)

        self._update_cookies_from_response(
            ctx.request.host.partition(":")[0],
            ctx.request.path,
            response.headers.getlist("Set-Cookie"),
        )

    def _copy_environ(self, other: WSGIEnvironment) -> WSGIEnvironment:
        environ = {**self.environ_base, **other}

        # The app offers its contexts to this callback instead of discarding them.
        if self.preserve_context:
            environ["werkzeug.debug.preserve_context"] = self._new_contexts.append

        return environ

    def _request_from_builder_args(
        self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
    ) -> BaseRequest:
        kwargs["environ_base"] = self._copy_environ(kwargs.get("environ_base", {}))
        builder = EnvironBuilder(self.application, *args, **kwargs)

        try:
            return builder.get_request()
        finally:
            builder.close()

    def _request_from_object(self, source: t.Any) -> BaseRequest:
        """Build the request from an environ builder, an environ dict or a request."""
        if isinstance(source, werkzeug.test.EnvironBuilder):
            # A copy, so the caller's builder keeps its own environ_base.
            builder = copy(source)
            builder.environ_base = self._copy_environ(builder.environ_base or {})  # type: ignore[arg-type]
            return builder.get_request()

        if isinstance(source, dict):
            return EnvironBuilder.from_environ(
                source, app=self.application, environ_base=self._copy_environ({})
            ).get_request()

        request: BaseRequest = copy(source)
        request.environ = self._copy_environ(request.environ)
        return request

    def open(
        self,
        *args: t.Any,
        buffered: bool = False,
        follow_redirects: bool = False,
        **kwargs: t.Any,
    ) -> TestResponse:
        """Make a request to the app, like :meth:`werkzeug.test.Client.open`.

        The first argument may be an environ builder, an environ dict or a request, else the
        arguments build the request with :class:`EnvironBuilder`.
        """
        if args and isinstance(args[0], (werkzeug.test.EnvironBuilder, dict, BaseRequest)):
            request = self._request_from_object(args[0])
        else:
            request = self._request_from_builder_args(args, kwargs)

        # Only the latest request's contexts stay pushed: release the previous ones (also
        # between the hops of a followed redirect).
        self._context_stack.close()
        response = super().open(request, buffered=buffered, follow_redirects=follow_redirects)
        response.json_module = self.application.json  # type: ignore[assignment]

        for context in self._new_contexts:
            self._context_stack.enter_context(context)

        self._new_contexts.clear()
        return response

    def __enter__(self) -> FlaskClient:
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations")

        self.preserve_context = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.preserve_context = False
        self._context_stack.close()


class FlaskCliRunner(CliRunner):
    """A click :class:`~click.testing.CliRunner` for the app's commands.

    Usually made with :meth:`~erlen.Erlen.test_cli_runner`.
    """

    def __init__(self, app: Erlen, **kwargs: t.Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    def invoke(  # type: ignore[override]
        self, cli: t.Any = None, args: t.Any = None, **kwargs: t.Any
    ) -> Result:
        """Invoke a command in an isolated environment, like
        :meth:`click.testing.CliRunner.invoke`.

        :param cli: The command to run; the app's :attr:`~erlen.Erlen.cli` group by default.
        :param args: The command line arguments, as a list of strings.

        Unless ``obj`` is given, the command gets a :class:`~erlen.cli.ScriptInfo` that
        loads this runner's app.
        """
        if cli is None:
            cli = self.app.cli

        if "obj" not in kwargs:
            kwargs["obj"] = ScriptInfo(create_app=lambda: self.app)

        return super().invoke(cli, args, **kwargs)


ErlenClient = FlaskClient
ErlenCliRunner = FlaskCliRunner
