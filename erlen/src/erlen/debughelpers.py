"""Errors and explanations that only debug mode shows, to turn common mistakes into clear messages.

Imported lazily by the code that needs it, so a production request never loads it.
"""

from __future__ import annotations

import typing as t

from werkzeug.routing import RequestRedirect

from .globals import _cv_request

if t.TYPE_CHECKING:  # pragma: no cover
    from jinja2.loaders import BaseLoader

    from .sansio.app import App
    from .sansio.scaffold import Scaffold
    from .wrappers import Request


class UnexpectedUnicodeError(AssertionError, UnicodeError):
    """Raised where text or bytes of the wrong kind showed up, to report it more clearly."""


class DebugFilesKeyError(KeyError, AssertionError):
    """Raised in debug mode by ``request.files[key]`` when the key was sent as a form field.

    That happens when a form with a file input lacks ``enctype="multipart/form-data"``: the
    browser then sends only the file *name*. The message says so instead of a bare
    :exc:`KeyError`.
    """

    def __init__(self, request: Request, key: str) -> None:
        message = (
            f"You tried to access the file {key!r} in the request.files dictionary but it does"
            f" not exist. The mimetype for the request is {request.mimetype!r} instead of"
            " 'multipart/form-data' which means that no file contents were transmitted. To fix"
            ' this error you should provide enctype="multipart/form-data" in your form.'
        )
        submitted = request.form.getlist(key)
        if submitted:
            names = ", ".join(repr(name) for name in submitted)
            message += (
                f"\n\nThe browser instead transmitted some file names. This was submitted: {names}"
            )
        self.msg = message

    def __str__(self) -> str:
        return self.msg


class FormDataRoutingRedirect(AssertionError):
    """Raised in debug mode when routing would redirect a request that carries a body.

    Browsers repeat a 301 or 302 redirect as a ``GET`` without the form data, so the data would
    be lost silently. Only 307 and 308 keep the method and body.
    """

    def __init__(self, request: Request) -> None:
        redirect = request.routing_exception
        assert isinstance(redirect, RequestRedirect)
        new_url = redirect.new_url
        message = (
            f"A request was sent to '{request.url}', but routing issued a redirect to the"
            f" canonical URL '{new_url}'."
        )
        if new_url.partition("?")[0] == f"{request.base_url}/":
            message += (
                " The URL was defined with a trailing slash. Routing redirects to the URL with"
                " a trailing slash when it is accessed without one."
            )
        message += (
            " Send requests to the canonical URL, or use 307 or 308 for routing redirects."
            " Otherwise, browsers will drop form data.\n\n"
            "This exception is only raised in debug mode."
        )
        super().__init__(message)


# One subclass per files class, reused across requests instead of creating a class each time.
_enctype_checking_classes: dict[type[t.Any], type[t.Any]] = {}


def _enctype_checking_class(base: type[t.Any]) -> type[t.Any]:
    if base in _enctype_checking_classes.values():
        # Already patched (the helper ran twice for one request).
        return base
    cls = _enctype_checking_classes.get(base)
    if cls is not None:
        return cls

    def __getitem__(self: t.Any, key: str) -> t.Any:
        try:
            return base.__getitem__(self, key)
        except KeyError as e:
            request = self._erlen_request
            if key not in request.form:
                raise
            raise DebugFilesKeyError(request, key).with_traceback(e.__traceback__) from None

    # Keep the original name and module so reprs and error messages look unchanged.
    cls = type(base.__name__, (base,), {"__getitem__": __getitem__, "__module__": base.__module__})
    cls.__qualname__ = base.__qualname__
    _enctype_checking_classes[base] = cls
    return cls


def attach_enctype_error_multidict(request: Request) -> None:
    """Make ``request.files[key]`` raise :exc:`DebugFilesKeyError` for keys sent as form fields.

    :param request: The request whose ``files`` to patch.
    :meta private:
    """
    files = request.files
    files.__class__ = _enctype_checking_class(type(files))
    files._erlen_request = request  # type: ignore[attr-defined]


def _dump_loader_info(loader: BaseLoader) -> t.Iterator[str]:
    yield f"class: {type(loader).__module__}.{type(loader).__name__}"
    for name, value in sorted(loader.__dict__.items()):
        if name.startswith("_"):
            continue
        if isinstance(value, (tuple, list)):
            # Only lists of strings (search paths, say) are worth showing.
            if all(isinstance(item, str) for item in value):
                yield f"{name}:"
                for item in value:
                    yield f"  - {item}"
        elif isinstance(value, (str, int, float, bool)):
            yield f"{name}: {value!r}"


def explain_template_loading_attempts(
    app: App,
    template: str,
    attempts: list[
        tuple[
            BaseLoader,
            Scaffold,
            tuple[str, str | None, t.Callable[[], bool] | None] | None,
        ]
    ],
) -> None:
    """Log, at info level on ``app.logger``, which loaders were asked for a template and what
    each found. Used when ``EXPLAIN_TEMPLATE_LOADING`` is on.

    :param app: The application.
    :param template: The template name that was looked up.
    :param attempts: ``(loader, app or blueprint, get_source result or None)`` per loader.
    """
    from .sansio.app import App
    from .sansio.blueprints import Blueprint

    lines = [f"Locating template {template!r}:"]
    found = 0

    for number, (loader, source, result) in enumerate(attempts, 1):
        if isinstance(source, App):
            where = f"application {source.import_name!r}"
        elif isinstance(source, Blueprint):
            where = f"blueprint {source.name!r} ({source.import_name})"
        else:
            where = repr(source)
        lines.append(f"{number:5}: trying loader of {where}")
        lines.extend(f"       {line}" for line in _dump_loader_info(loader))

        if result is None:
            lines.append("       -> no match")
        else:
            found += 1
            lines.append(f"       -> found ({result[1] or '<string>'!r})")

    if found == 0:
        lines.append("Error: the template could not be found.")
    elif found > 1:
        lines.append("Warning: multiple loaders returned a match for the template.")

    ctx = _cv_request.get(None)
    blueprint = ctx.request.blueprint if ctx is not None else None
    if blueprint is not None and found != 1:
        lines.append(
            "  The template was looked up from an endpoint that belongs to the blueprint"
            f" {blueprint!r}."
        )
        lines.append("  Maybe you did not place a template in the right folder?")
        lines.append("  See https://flask.palletsprojects.com/blueprints/#templates")

    app.logger.info("\n".join(lines))
