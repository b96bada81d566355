"""Helpers for views: responses, redirects, flashing, files and streaming.

Each function needs an active application or request context unless its docstring says
otherwise. They read the context variables directly instead of going through the
``current_app`` / ``request`` proxies, because several of them sit on hot paths.
"""

from __future__ import annotations

import collections.abc as cabc
import os
import typing as t
from datetime import datetime
from functools import wraps

import werkzeug.utils
from werkzeug.exceptions import abort as _werkzeug_abort
from werkzeug.utils import redirect as _werkzeug_redirect
from werkzeug.wrappers import Response as BaseResponse

from .globals import _cv_app
from .globals import _cv_request
from .globals import current_app
from .globals import request_ctx
from .sansio.scaffold import _split_blueprint_path as _split_blueprint_path
from .sansio.scaffold import get_root_path as get_root_path
from .signals import message_flashed

# The decorated generator function's parameters, kept by @stream_with_context.
_P = t.ParamSpec("_P")

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import Erlen
    from .wrappers import Response

_FALSY_ENV_VALUES = frozenset(("0", "false", "no"))


def _env(name: str) -> str | None:
    """``ERLEN_<name>``, else Flask's ``FLASK_<name>``; an empty value counts as unset."""
    return os.environ.get(f"ERLEN_{name}") or os.environ.get(f"FLASK_{name}") or None


def get_debug_flag() -> bool:
    """Whether ``ERLEN_DEBUG`` (or ``FLASK_DEBUG``) asks for debug mode.

    Unset, empty, ``0``, ``false`` and ``no`` (any case) all mean off.
    """
    value = _env("DEBUG")
    return value is not None and value.lower() not in _FALSY_ENV_VALUES


def get_load_dotenv(default: bool = True) -> bool:
    """Whether the default dotenv files should be loaded.

    Setting ``ERLEN_SKIP_DOTENV`` (or ``FLASK_SKIP_DOTENV``) to anything but ``0``,
    ``false`` or ``no`` turns loading off.

    :param default: The answer when neither variable is set.
    """
    value = _env("SKIP_DOTENV")
    if value is None:
        return default
    return value.lower() in _FALSY_ENV_VALUES


@t.overload
def stream_with_context(
    generator_or_function: t.Iterator[t.AnyStr],
) -> t.Iterator[t.AnyStr]: ...


@t.overload
def stream_with_context(
    generator_or_function: t.Callable[_P, t.Iterator[t.AnyStr]],
) -> t.Callable[_P, t.Iterator[t.AnyStr]]: ...


def stream_with_context(
    generator_or_function: t.Iterator[t.AnyStr] | t.Callable[..., t.Iterator[t.AnyStr]],
) -> t.Iterator[t.AnyStr] | t.Callable[..., t.Iterator[t.AnyStr]]:
    """Keep the current request context active while a streamed response is generated.

    The view returns before the server iterates its response body, so by the time a
    generator runs, ``request``, ``session`` and ``g`` would normally be gone. Wrap the
    iterator (``stream_with_context(generate())``), or decorate the generator function
    (``@stream_with_context``), and the contexts that were active when it was wrapped are
    pushed again while it runs, then popped when it ends or is closed.
    """
    try:
        inner = iter(generator_or_function)  # type: ignore[arg-type]
    except TypeError:
        # Not iterable, so it is the generator function itself: wrap each call's result.
        function = t.cast(t.Callable[..., t.Iterator[t.AnyStr]], generator_or_function)

        @wraps(function)
        def wrap_call(*args: t.Any, **kwargs: t.Any) -> t.Any:
            return stream_with_context(function(*args, **kwargs))

        return wrap_call

    stream = _stream_in_contexts(inner)
    # Run the generator up to its first pause now, while the view is still running: that is
    # the moment it records which contexts to restore (and fails fast without one).
    next(stream)
    return stream


def _stream_in_contexts(inner: t.Iterator[t.AnyStr]) -> t.Iterator[t.AnyStr]:
    """Yield from ``inner`` with the contexts that were active when first advanced."""
    req_ctx = _cv_request.get(None)
    if req_ctx is None:
        raise RuntimeError(
            "'stream_with_context' can only be used when a request"
            " context is active, such as in a view function."
        )
    app_ctx = _cv_app.get()

    # Pause here so the caller can return the primed generator. Pushing must wait until
    # iteration starts: pushing now would set the context variables in the view's context,
    # which for async views is a different event loop task from the one that iterates.
    yield None  # type: ignore[misc]

    # The app context goes first so the request context reuses it instead of making a new one.
    with app_ctx, req_ctx:
        try:
            yield from inner
        finally:
            # The wrapped object may be a WSGI iterable with its own cleanup.
            close = getattr(inner, "close", None)
            if close is not None:
                close()


def make_response(*args: t.Any) -> Response:
    """Turn a view's return value into a response object, so headers can be added to it.

    Takes exactly what a view may return: ``make_response(body)``,
    ``make_response(body, status)``, ``make_response(body, status, headers)``, and so on.
    With no arguments it returns an empty response of the app's ``response_class``.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not args:
        return app.response_class()  # type: ignore[no-any-return]
    value = args[0] if len(args) == 1 else args
    return app.make_response(value)  # type: ignore[no-any-return]


def url_for(
    endpoint: str,
    *,
    _anchor: str | None = None,
    _method: str | None = None,
    _scheme: str | None = None,
    _external: bool | None = None,
    **values: t.Any,
) -> str:
    """Build the URL for an endpoint; see :meth:`erlen.Erlen.url_for` for the details.

    Needs an active application or request context.

    :param endpoint: The endpoint name. A leading ``.`` means the current blueprint.
    :param _anchor: Appended as ``#anchor``.
    :param _method: Build the URL of the rule that accepts this method.
    :param _scheme: The scheme of an external URL.
    :param _external: Force an absolute (``True``) or relative (``False``) URL. Outside a
        request, URLs are absolute by default.
    :param values: Values for the rule's variables; the rest become query arguments.

    Calls ``current_app.url_for``, so an app can override it.
    """
    return current_app.url_for(
        endpoint,
        _anchor=_anchor,
        _method=_method,
        _scheme=_scheme,
        _external=_external,
        **values,
    )


def redirect(
    location: str, code: int = 302, Response: type[BaseResponse] | None = None
) -> BaseResponse:
    """Return a response that redirects the client to ``location``.

    Inside an application context this is :meth:`erlen.Erlen.redirect`, which uses the app's
    response class; outside one it falls back to :func:`werkzeug.utils.redirect`.

    :param location: The URL to redirect to.
    :param code: The redirect status code.
    :param Response: The response class, only used when no app is active.

    Uses ``current_app.redirect`` when an app is active.
    """
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        # The app's redirect builds its own response_class, a WSGI response like ours.
        return t.cast(BaseResponse, app_ctx.app.redirect(location, code=code))
    return _werkzeug_redirect(location, code=code, Response=Response)


def abort(code: int | BaseResponse, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
    """Raise the :exc:`~werkzeug.exceptions.HTTPException` for a status code.

    Inside an application context the app's :attr:`~erlen.Erlen.aborter` is used, so codes
    registered on it work; otherwise :func:`werkzeug.exceptions.abort`.

    :param code: A status code, or a response to abort with.
    :param args: Passed on to the exception.
    :param kwargs: Passed on to the exception.

    Uses ``current_app.aborter`` when an app is active.
    """
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        app_ctx.app.aborter(code, *args, **kwargs)
    _werkzeug_abort(code, *args, **kwargs)


def get_template_attribute(template_name: str, attribute: str) -> t.Any:
    """Return a macro or variable that a template exports, to call it from Python.

    ``get_template_attribute("_cider.html", "hello")("World")`` calls the ``hello`` macro.

    :param template_name: The template to load.
    :param attribute: The name of the macro or variable.
    """
    template = current_app.jinja_env.get_template(template_name)
    return getattr(template.module, attribute)


def flash(message: str, category: str = "message") -> None:
    """Store a message in the session for the next request to show.

    :param message: The message.
    :param category: A free-form category; ``"message"``, ``"error"``, ``"info"`` and
        ``"warning"`` are the conventional ones.
    """
    session = request_ctx.session
    # Read, append and assign back rather than appending in place: a session backed by
    # external storage only notices a change made through assignment.
    messages = session.get("_flashes", [])
    messages.append((category, message))
    session["_flashes"] = messages

    if message_flashed.receivers:
        app = _cv_app.get().app
        message_flashed.send(
            app, _async_wrapper=app.ensure_sync, message=message, category=category
        )


@t.overload
def get_flashed_messages(
    with_categories: t.Literal[False] = False, category_filter: t.Iterable[str] = ()
) -> list[str]: ...


@t.overload
def get_flashed_messages(
    with_categories: t.Literal[True], category_filter: t.Iterable[str] = ()
) -> list[tuple[str, str]]: ...


@t.overload
def get_flashed_messages(
    with_categories: bool = False, category_filter: t.Iterable[str] = ()
) -> list[str] | list[tuple[str, str]]: ...


def get_flashed_messages(
    with_categories: bool = False, category_filter: t.Iterable[str] = ()
) -> list[str] | list[tuple[str, str]]:
    """Take the flashed messages out of the session and return them.

    The first call in a request removes them from the session; later calls in the same
    request return the same messages again.

    :param with_categories: Return ``(category, message)`` pairs instead of messages.
    :param category_filter: Only return messages in these categories. This is independent of
        ``with_categories``.
    """
    ctx = request_ctx._get_current_object()  # type: ignore[attr-defined]
    flashes: list[tuple[str, str]] | None = ctx.flashes
    if flashes is None:
        session = ctx.session
        flashes = session.pop("_flashes") if "_flashes" in session else []
        ctx.flashes = flashes

    if category_filter:
        # Membership is tested against the filter as given (a list, set, ...); only a
        # one-shot iterator is materialised first so every message sees all of it.
        wanted = (
            category_filter
            if isinstance(category_filter, cabc.Container)
            else list(category_filter)
        )
        flashes = [item for item in flashes if item[0] in wanted]

    if with_categories:
        return flashes
    return [item[1] for item in flashes]


def _send_file_arguments(**kwargs: t.Any) -> dict[str, t.Any]:
    """Fill in the arguments werkzeug's file sending takes from the active app and request."""
    req_ctx = request_ctx._get_current_object()  # type: ignore[attr-defined]
    app: Erlen = req_ctx.app
    if kwargs.get("max_age") is None:
        # Werkzeug calls this with the file name, so an app can vary caching by file.
        kwargs["max_age"] = app.get_send_file_max_age
    kwargs["environ"] = req_ctx.request.environ
    kwargs["use_x_sendfile"] = app.config["USE_X_SENDFILE"]
    kwargs["response_class"] = app.response_class
    kwargs["_root_path"] = app.root_path
    return kwargs


def send_file(
    path_or_file: os.PathLike[t.AnyStr] | str | t.IO[bytes],
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: None | (int | t.Callable[[str | None], int | None]) = None,
) -> Response:
    """Send a file's contents to the client, built on :func:`werkzeug.utils.send_file`.

    Never pass a path that came from the client: use :func:`send_from_directory` for that.
    With ``USE_X_SENDFILE`` set, the web server sends the file instead of Python.

    :param path_or_file: A path (relative paths are resolved against the app's root path),
        or a file-like object opened in binary mode and positioned at the start.
    :param mimetype: The MIME type; guessed from the file name when not given.
    :param as_attachment: Ask the browser to save the file rather than display it.
    :param download_name: The file name the browser should use.
    :param conditional: Support conditional and range requests.
    :param etag: Compute an ETag from the path, or use this string as the ETag.
    :param last_modified: The last-modified time; read from the path when not given.
    :param max_age: How long clients may cache the file, in seconds, or a callable taking
        the file name. Defaults to :meth:`~erlen.Erlen.get_send_file_max_age`.
    """
    return werkzeug.utils.send_file(  # type: ignore[return-value]
        **_send_file_arguments(
            path_or_file=path_or_file,
            mimetype=mimetype,
            as_attachment=as_attachment,
            download_name=download_name,
            conditional=conditional,
            etag=etag,
            last_modified=last_modified,
            max_age=max_age,
        )
    )


def send_from_directory(
    directory: os.PathLike[str] | str,
    path: os.PathLike[str] | str,
    **kwargs: t.Any,
) -> Response:
    """Send a file from inside ``directory``, safe to use with a path from the client.

    The path is joined with :func:`~werkzeug.security.safe_join`; anything that escapes the
    directory or isn't an existing file raises :exc:`~werkzeug.exceptions.NotFound`.

    :param directory: The folder to serve from, relative to the app's root path. Never a
        value from the client.
    :param path: The file's path inside ``directory``.
    :param kwargs: Passed on to :func:`send_file`.
    """
    return werkzeug.utils.send_from_directory(  # type: ignore[return-value]
        directory, path, **_send_file_arguments(**kwargs)
    )
