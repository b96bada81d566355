"""One error vocabulary: RFC 9457 problem details for programs, HTML pages for people.

Every error body erlen's extensions send (REST, CSRF, login, the login throttle) is built
here, and an app answers its own errors the same way by registering :func:`error_response`
as an error handler::

    from werkzeug.exceptions import HTTPException
    from erlen.ext.problems import error_response

    app.register_error_handler(HTTPException, error_response)

Who is asking is decided in one place, :func:`is_api_request`: requests under the app's
API prefixes, or sent by ``fetch``/``XMLHttpRequest``, with a bearer token or preferring
JSON, get ``application/problem+json``::

    {"type": "about:blank", "title": "Not Found", "status": 404,
     "detail": "There is no message 999.", "instance": "/api/messages/999"}

with extension members where they apply (``errors`` for a validation error, ``retry_after``
for 429). Everyone else gets a short HTML page, or the app's own template. The headers an
error carries (``Allow``, ``Retry-After``, ``WWW-Authenticate``) are sent either way.

Configuration:

``API_PREFIXES``         URL paths whose requests are API requests (default ``("/api",)``)
``ERROR_PAGE_TEMPLATE``  template of the HTML error page; it gets ``status``, ``title``,
                         ``detail``, ``hint`` and ``error`` (default: a built-in page)

An app that registers no handler and uses no extension keeps werkzeug's error pages, as in
Flask. Depends on werkzeug, and on erlen's core for the response class and templates.
"""

from __future__ import annotations

import json
import typing as t
from http import HTTPStatus

from markupsafe import escape
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header
from werkzeug.wrappers import Response as BaseResponse

from ..globals import current_app_context
from ..globals import current_request_context
from ..wrappers import Response

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.sansio.request import Request as SansIORequest

    from ..app import Erlen

#: The media type of problem details (RFC 9457, section 3).
PROBLEM_MIMETYPE = "application/problem+json"
#: The paths under which every request is an API request, unless ``API_PREFIXES`` says.
DEFAULT_API_PREFIXES: tuple[str, ...] = ("/api",)

_JSON_TYPES = ("application/json", PROBLEM_MIMETYPE)

_PAGE = """\
<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status} {title}</title>
<h1>{title}</h1>
<p>{detail}</p>
{hint}"""


# -- who is asking -----------------------------------------------------------------------------


def api_prefixes(app: Erlen | None = None) -> tuple[str, ...]:
    """The URL paths under which requests are API requests: the app's ``API_PREFIXES``.

    Read from ``app`` (default: the current app, if any); ``("/api",)`` when unset. A single
    string counts as one prefix. Trailing slashes are dropped, so ``"/"`` makes every path
    an API path and ``()`` none.
    """
    if app is None:
        ctx = current_app_context()
        app = ctx.app if ctx is not None else None
    raw = app.config.get("API_PREFIXES", DEFAULT_API_PREFIXES) if app is not None else None
    if raw is None:
        return DEFAULT_API_PREFIXES
    if isinstance(raw, str):
        raw = (raw,)
    return tuple(prefix.rstrip("/") for prefix in raw)


def _under(path: str, prefix: str) -> bool:
    return not prefix or path == prefix or path.startswith(prefix + "/")


def is_api_request(
    environ: WSGIEnvironment | None = None, *, prefixes: t.Iterable[str] | None = None
) -> bool:
    """Tell whether a request comes from a program rather than a person with a browser.

    A request is an API request when its path is under one of the API prefixes (see
    :func:`api_prefixes`), when it was sent by ``XMLHttpRequest`` (``X-Requested-With``),
    when it carries a bearer token, or when its ``Accept`` header prefers JSON to HTML. A
    body sent as JSON tips the balance when the client accepts both equally (``fetch()``
    sends ``Accept: */*``). Browsers navigating to a page ask for HTML first, so they keep
    getting pages and redirects.

    It reads the WSGI environ, so error responses can call it without a request object.

    :param environ: The request's WSGI environ; default: the current request's. Outside a
        request, and without one, the answer is ``False``.
    :param prefixes: The API prefixes; default: :func:`api_prefixes` of the current app.
    """
    if environ is None:
        ctx = current_request_context()
        if ctx is None:
            return False
        environ = ctx.request.environ
    path = environ.get("PATH_INFO") or ""
    if prefixes is None:
        prefixes = api_prefixes()
    elif isinstance(prefixes, str):
        prefixes = (prefixes,)
    if any(_under(path, prefix.rstrip("/")) for prefix in prefixes):
        return True
    if (environ.get("HTTP_X_REQUESTED_WITH") or "").lower() == "xmlhttprequest":
        return True
    if (environ.get("HTTP_AUTHORIZATION") or "")[:7].lower() == "bearer ":
        return True
    accept = parse_accept_header(environ.get("HTTP_ACCEPT"), MIMEAccept)
    json_quality = max(accept.quality(mimetype) for mimetype in _JSON_TYPES)
    html_quality = accept.quality("text/html")
    if json_quality != html_quality:
        return json_quality > html_quality
    content_type = (environ.get("CONTENT_TYPE") or "").partition(";")[0].strip().lower()
    return json_quality > 0 and (
        content_type == "application/json" or content_type.endswith("+json")
    )


# -- the two bodies ----------------------------------------------------------------------------


def status_title(status: int) -> str:
    """The reason phrase for ``status`` (``"Not Found"``), used as the default title."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type: str = "about:blank",
    instance: str | None = None,
    headers: t.Iterable[tuple[str, str]] = (),
    **extensions: t.Any,
) -> Response:
    """Build an ``application/problem+json`` response: the only place a problem is made.

    :param status: The HTTP status code, repeated in the body as ``status``.
    :param title: A short summary; defaults to the status's reason phrase.
    :param detail: An explanation specific to this occurrence.
    :param type: A URI identifying the problem type; ``about:blank`` means "see the status".
    :param instance: Identifies this occurrence; defaults to the current request's path.
    :param headers: Extra response headers, such as ``Allow`` or ``Retry-After``.
    :param extensions: Extra members, such as ``errors`` or ``retry_after``.
    """
    if instance is None:
        ctx = current_request_context()
        if ctx is not None:
            instance = ctx.request.path
    body: dict[str, t.Any] = {
        "type": type,
        "title": title if title is not None else status_title(status),
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    body.update(extensions)
    response = Response(
        _utf8(json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)),
        status=status,
        mimetype=PROBLEM_MIMETYPE,
    )
    for name, value in headers:
        response.headers.add(name, value)
    return response


def _utf8(text: str) -> bytes:
    """``text`` as UTF-8, a lone surrogate written as its escape (``\\ud800``).

    A detail may quote what a client sent, and JSON's ``"\\ud800"`` decodes to a string
    UTF-8 can't encode: the error answering that input must not fail on it. Inside a JSON
    string the escape means the same character again.
    """
    return text.encode("utf-8", "backslashreplace")


def error_page_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    hint: str | None = None,
    headers: t.Iterable[tuple[str, str]] = (),
    template: str | None = None,
    error: BaseException | None = None,
) -> Response:
    """Build the HTML error page for a browser: the app's template, or a built-in page.

    :param status: The HTTP status code.
    :param title: The heading; defaults to the status's reason phrase.
    :param detail: What went wrong, for a person.
    :param hint: What to do about it, shown under the detail.
    :param headers: Extra response headers, such as ``Allow`` or ``Retry-After``.
    :param template: The template to render, with ``status``, ``title``, ``detail``,
        ``hint`` and ``error``; default: the app's ``ERROR_PAGE_TEMPLATE``, if set, else
        the built-in page (always used outside an app context). When the template fails
        for a server error, the failure is logged and the built-in page is sent, so that
        a broken page never hides the error it was meant to show.
    :param error: The exception being answered, passed to the template.
    """
    title = title if title is not None else status_title(status)
    body: str | None = None
    ctx = current_app_context()
    if ctx is not None:
        if template is None:
            template = ctx.app.config.get("ERROR_PAGE_TEMPLATE")
        if template:
            body = _render_page(ctx.app, template, status, title, detail, hint, error)
    if body is None:
        body = _PAGE.format(
            status=status,
            title=escape(title),
            detail=escape(detail or ""),
            hint=f"<p>{escape(hint)}</p>\n" if hint else "",
        )
    response = Response(_utf8(body), status=status, mimetype="text/html")
    for name, value in headers:
        response.headers.add(name, value)
    return response


def _render_page(
    app: Erlen,
    template: str,
    status: int,
    title: str,
    detail: str | None,
    hint: str | None,
    error: BaseException | None,
) -> str | None:
    from ..templating import render_template

    context = {"status": status, "title": title, "detail": detail, "hint": hint, "error": error}
    try:
        return render_template(template, **context)
    except Exception:
        if status < 500:
            raise  # a bug in the page: it becomes a server error, answered below
        app.logger.exception("The error page template %r failed.", template)
        return None


# -- one answer for every error ------------------------------------------------------------------


def error_response(
    error: HTTPException | int,
    *,
    detail: str | None = None,
    title: str | None = None,
    type: str | None = None,
    headers: t.Iterable[tuple[str, str]] = (),
    api: bool | None = None,
    environ: WSGIEnvironment | None = None,
    template: str | None = None,
    **extensions: t.Any,
) -> BaseResponse:
    """Answer an error: problem+json for an API client, an HTML page for a browser.

    Takes an HTTP exception, or a status code for the app's own errors::

        app.register_error_handler(HTTPException, error_response)

        @app.errorhandler(OutOfStock)
        def out_of_stock(e):
            return error_response(409, detail=str(e))

    An exception gives the status, ``title`` (its name), ``detail`` (its description) and
    its headers (``Allow``, ``Retry-After``, ``WWW-Authenticate``); an
    :class:`APIAwareHTTPException` also its ``type`` and extension members, and any
    ``retry_after`` in seconds becomes a member too. Keyword arguments override them. An
    exception that carries its own response (``abort(response)``) answers with it.

    :param error: The exception, or an HTTP status code.
    :param detail: What went wrong this time; default: the exception's description.
    :param title: A short summary; default: the status's reason phrase.
    :param type: The problem type URI; default: ``about:blank``.
    :param headers: More response headers.
    :param api: ``True`` or ``False`` to choose the answer; default: :func:`is_api_request`.
    :param environ: The request's environ; default: the current request's.
    :param template: The HTML page's template; see :func:`error_page_response`.
    :param extensions: More problem members (left out of the HTML page).
    """
    hint = None
    if isinstance(error, HTTPException):
        if error.response is not None:
            return t.cast(BaseResponse, error.response)
        if error.code is not None and error.code < 400:
            # Not an error (a routing redirect): the response it builds itself.
            return error.get_response(environ)
        exc: BaseException | None = error
        status = error.code or 500
        title = title if title is not None else error.name
        detail = detail if detail is not None else error.description
        # The Content-Type would describe werkzeug's HTML body, which is not what is sent.
        headers = [
            *((k, v) for k, v in error.get_headers(environ) if k.lower() != "content-type"),
            *headers,
        ]
        members: dict[str, t.Any] = {}
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, int):
            members["retry_after"] = retry_after
        if isinstance(error, APIAwareHTTPException):
            type = type if type is not None else error.problem_type
            hint = error.page_hint
            members.update(error.problem_extensions())
        extensions = {**members, **extensions}
    else:
        exc = None
        status = error
    if api is None:
        api = is_api_request(environ)
    if api:
        return problem_response(
            status,
            title=title,
            detail=detail,
            type=type if type is not None else "about:blank",
            headers=headers,
            **extensions,
        )
    return error_page_response(
        status,
        title=title,
        detail=detail,
        hint=hint,
        headers=headers,
        template=template,
        error=exc,
    )


class APIAwareHTTPException(HTTPException):
    """An HTTP error that answers through :func:`error_response` wherever it ends up.

    Raised and left unhandled, it is a problem for API clients and an HTML page for
    browsers, with its status and headers either way. Subclasses add what the problem
    says beyond ``title`` and ``detail``::

        class OutOfCredit(APIAwareHTTPException, PaymentRequired):
            problem_type = "https://example.com/problems/out-of-credit"

            def problem_extensions(self):
                return {"balance": self.balance}

    Put it before the werkzeug class in the bases, as above, so its methods win.
    """

    #: The problem's ``type``: a URI naming the kind of problem.
    problem_type: str = "about:blank"
    #: A sentence for people, shown under the detail on the HTML page only.
    page_hint: str | None = None

    def problem_extensions(self) -> dict[str, t.Any]:
        """Members the problem carries beyond the standard ones (none by default)."""
        return {}

    def get_headers(
        self,
        environ: WSGIEnvironment | None = None,
        scope: dict[str, t.Any] | None = None,
    ) -> list[tuple[str, str]]:
        """The error's headers; the ``Content-Type`` is problem+json for API clients."""
        headers = super().get_headers(environ, scope)
        if not is_api_request(environ):
            return headers
        rest = [(k, v) for k, v in headers if k.lower() != "content-type"]
        return [("Content-Type", PROBLEM_MIMETYPE), *rest]

    def get_body(
        self,
        environ: WSGIEnvironment | None = None,
        scope: dict[str, t.Any] | None = None,
    ) -> str:
        """The body :func:`error_response` sends: a problem, or an HTML page."""
        return error_response(self, environ=environ).get_data(as_text=True)

    def get_response(
        self,
        environ: WSGIEnvironment | SansIORequest | None = None,
        scope: dict[str, t.Any] | None = None,
    ) -> BaseResponse:
        """The response :func:`error_response` builds for this error."""
        if environ is not None and not isinstance(environ, dict):
            environ = t.cast("WSGIEnvironment", getattr(environ, "environ", None))
        return error_response(self, environ=environ)
